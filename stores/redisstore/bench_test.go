package redisstore

import (
	"context"
	"testing"
	"time"
)

// The benchmarks run against the shared standalone Redis of
// scripts/services.sh, so they measure a real network round trip on
// loopback.

func benchStore(b *testing.B) (*Store, context.Context) {
	b.Helper()
	return newStore(b, singleClient(b), Options{}), context.Background()
}

// BenchmarkRead is one GET of a 1 KiB session.
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

// BenchmarkWrite is one SET PX of a 1 KiB session.
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
		lk := l.(*lock)
		got, _, err := lk.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		got[0]++
		if err := lk.Write(ctx, got, exp); err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
