package filestore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/stores/filestore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// benchData is a typical session record: a few hundred bytes.
var benchData = bytes.Repeat([]byte("k|s:5:\"value\";"), 20)

func BenchmarkRead(b *testing.B) {
	storetest.BenchRead(b, newStore(b, filestore.Options{}), benchData)
}

func BenchmarkWrite(b *testing.B) {
	tests := []struct {
		name string
		data func(i int) []byte
	}{
		// Same size every time: one pwrite, no recovery file.
		{"SameSize", func(int) []byte { return benchData }},
		// Alternately longer and shorter: every shrink goes through the
		// recovery file.
		{"Alternating", func(i int) []byte { return benchData[:len(benchData)-i%2*10] }},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			s := newStore(b, filestore.Options{})
			ctx := context.Background()
			id := "BenchmarkWriteSession00000000000000000000"
			expiry := time.Now().Add(time.Hour)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Write(ctx, id, tt.data(i), expiry); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTouch(b *testing.B) {
	storetest.BenchTouch(b, newStore(b, filestore.Options{}), benchData)
}

// BenchmarkLockedWrite is one locking-mode request: Lock, read and write
// through the lock, Unlock.
func BenchmarkLockedWrite(b *testing.B) {
	storetest.BenchLockedWrite(b, newStore(b, filestore.Options{}), benchData)
}

// BenchmarkGC removes 10^5 expired sessions per operation.
func BenchmarkGC(b *testing.B) {
	const sessions = 100_000
	ctx := context.Background()
	past := time.Now().Add(-time.Hour)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newStore(b, filestore.Options{})
		for j := 0; j < sessions; j++ {
			if err := s.Write(ctx, fmt.Sprintf("gc%040d", j), benchData[:64], past); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		n, err := s.GC(ctx, time.Now())
		if err != nil || n != sessions {
			b.Fatalf("GC = %d, %v; want %d", n, err, sessions)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sessions), "ns/session")
}
