package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// tests start the example's server on a loopback listener and must shut
// it, and its Manager's GC sweeper, down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
