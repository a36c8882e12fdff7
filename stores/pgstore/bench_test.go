package pgstore

import (
	"context"
	"testing"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// The benchmarks run against the PostgreSQL of scripts/services.sh, so they
// measure real round trips on loopback.

func benchStore(b *testing.B) *Store {
	b.Helper()
	s := newStore(b, testPool(b), Options{})
	if err := s.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkRead reads a 1 KiB session.
func BenchmarkRead(b *testing.B) {
	storetest.BenchRead(b, benchStore(b), make([]byte, 1024))
}

// BenchmarkWrite upserts a 1 KiB session.
func BenchmarkWrite(b *testing.B) {
	storetest.BenchWrite(b, benchStore(b), make([]byte, 1024))
}

// BenchmarkLockedReadModifyWrite is a whole locked request cycle: Lock
// (with the data), the lock's Read and Write (which releases), Unlock.
func BenchmarkLockedReadModifyWrite(b *testing.B) {
	storetest.BenchLockedWrite(b, benchStore(b), make([]byte, 1024))
}
