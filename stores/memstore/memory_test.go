package memstore_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/stores/memstore"
)

// TestMemoryMillionSessions holds the SPEC's budget: 10^6 sessions of 64
// bytes with 43-character IDs in at most 256 MiB of heap.
func TestMemoryMillionSessions(t *testing.T) {
	const n, budget = 1_000_000, 256 << 20
	ctx := context.Background()
	data := make([]byte, 64)
	exp := time.Now().Add(time.Hour)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := memstore.New(memstore.Options{})
	for i := 0; i < n; i++ {
		// A fresh ID string each time, as IDs arrive from requests; the
		// store keeps its own copy.
		if err := s.Write(ctx, fmt.Sprintf("mem-%039d", i), data, exp); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)

	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d sessions: heap grew by %.1f MiB, %d bytes per session", n, float64(growth)/(1<<20), growth/n)
	if growth > budget {
		t.Fatalf("heap grew by %.1f MiB for %d sessions, over the %d MiB budget", float64(growth)/(1<<20), n, budget>>20)
	}
	if _, found, _ := s.Read(ctx, fmt.Sprintf("mem-%039d", n-1)); !found {
		t.Fatal("the last session written is missing")
	}
}
