package sessionotel_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// observer starts none, and neither may the Managers the tests start.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
