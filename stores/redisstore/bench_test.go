package redisstore

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// The benchmarks run against the shared standalone Redis of
// scripts/services.sh, so they measure a real network round trip on
// loopback.

func benchStore(b *testing.B) *Store {
	b.Helper()
	return newStore(b, singleClient(b), Options{})
}

// BenchmarkRead is one GET of a 1 KiB session.
func BenchmarkRead(b *testing.B) {
	storetest.BenchRead(b, benchStore(b), make([]byte, 1024))
}

// BenchmarkWrite is one SET PX of a 1 KiB session.
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
// it waits for ("trips/op", counted by a client hook) and those sent after
// its response by the background release sender ("after/op")
// (storetest.BenchRequests).
func BenchmarkRequests(b *testing.B) {
	c := redis.NewClient(clientOptions(storetest.RequireEnv(b, envAddr)))
	rt := &roundTrips{cmds: map[string]int{}}
	c.AddHook(rt) // before the client is used: AddHook is not safe alongside commands
	b.Cleanup(func() { c.Close() })
	ping(b, c)
	plain, locked := newStore(b, c, Options{}), newStore(b, c, Options{})
	storetest.BenchRequests(b, rt, func() { plain.releasesSent(); locked.releasesSent() }, plain, locked)
}
