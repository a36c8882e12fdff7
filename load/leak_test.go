package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// load runs start servers and client connections, and must end them all.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
