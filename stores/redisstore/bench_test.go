package redisstore

import (
	"testing"

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
