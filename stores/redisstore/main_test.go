package redisstore

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// store's background settling must end once nothing is left to settle,
// and go-redis' own goroutines once the tests close their clients.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
