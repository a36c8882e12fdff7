package adaptertest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// scenario suite starts real HTTP servers and must shut them all down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
