package pgstore

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

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

// BenchmarkRequests is a whole request through the real middleware and a
// real HTTP server and client, per kind of request, with the round trips
// it waits for ("trips/op", counted by a pgx tracer) and those of lock
// releases run after its response ("after/op") (storetest.BenchRequests).
func BenchmarkRequests(b *testing.B) {
	rt := &roundTrips{}
	pool := testPool(b, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = rt })
	plain, locked := twoStores(b, pool)
	storetest.BenchRequests(b, rt, func() { plain.releaser.wg.Wait(); locked.releaser.wg.Wait() }, plain, locked)
}
