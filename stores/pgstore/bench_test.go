package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// The benchmarks run against the PostgreSQL of scripts/services.sh, so they
// measure real round trips on loopback.

func benchStore(b *testing.B) (*Store, context.Context) {
	b.Helper()
	ctx := context.Background()
	s := newStore(b, testPool(b), Options{})
	if err := s.Open(ctx); err != nil {
		b.Fatal(err)
	}
	return s, ctx
}

// BenchmarkRead reads a 1 KiB session.
func BenchmarkRead(b *testing.B) {
	s, ctx := benchStore(b)
	id := newID(b)
	if err := s.Write(ctx, id, make([]byte, 1024), time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, found, err := s.Read(ctx, id); err != nil || !found {
			b.Fatalf("Read: %v %v", found, err)
		}
	}
}

// BenchmarkWrite upserts a 1 KiB session.
func BenchmarkWrite(b *testing.B) {
	s, ctx := benchStore(b)
	id := newID(b)
	data := make([]byte, 1024)
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Write(ctx, id, data, exp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLockedReadModifyWrite is a whole locked request cycle: Lock
// (with the data), the lock's Read and Write (which releases), Unlock.
func BenchmarkLockedReadModifyWrite(b *testing.B) {
	s, ctx := benchStore(b)
	id := newID(b)
	data := make([]byte, 1024)
	exp := time.Now().Add(time.Hour)
	if err := s.Write(ctx, id, data, exp); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := s.Lock(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		got, _, err := l.(core.LockedReader).Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		got[0]++
		if err := l.(core.LockedWriter).Write(ctx, got, exp); err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
