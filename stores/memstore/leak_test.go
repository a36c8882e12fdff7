package memstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// sweeper must end with Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
