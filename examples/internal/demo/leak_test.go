package demo

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// demo's servers and Managers must all be stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
