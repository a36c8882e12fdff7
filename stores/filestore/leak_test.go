package filestore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: lock
// waits must end with their context, and every Manager the tests start
// must stop its GC sweeper when closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
