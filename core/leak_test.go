package core_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// GC sweeper must end with Manager.Close, and nothing a Manager starts
// for a request (lock waits, commits) may outlive it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
