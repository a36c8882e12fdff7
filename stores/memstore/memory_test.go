package memstore_test

import (
	"context"
	"runtime"
	"strconv"
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
	buf := []byte("mem-000000000000000000000000000000000000000")
	var last string
	for i := 0; i < n; i++ {
		// A fresh 43-character ID string each time, as IDs arrive from
		// requests; the store keeps its own copy.
		last = string(strconv.AppendInt(buf[:len(buf)-10], int64(1e9+i), 10))
		if err := s.Write(ctx, last, data, exp); err != nil {
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
	if len(last) != 43 {
		t.Fatalf("IDs are %d characters long, want 43", len(last))
	}
	if _, found, _ := s.Read(ctx, last); !found {
		t.Fatal("the last session written is missing")
	}
}
