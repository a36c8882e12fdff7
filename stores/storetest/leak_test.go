package storetest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// suites start HTTP servers, Managers and concurrent clients, and must
// stop them all.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
