package ginsession_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// scenario suite runs the adapter behind a real listener and must shut
// it down, with every connection and Manager it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
