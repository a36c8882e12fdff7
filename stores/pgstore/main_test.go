package pgstore

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the store
// starts none of its own, but the driver starts some per query and per
// broken connection, and leaked one per lock held through a crash before
// pgx v5.9 (TestCrashWhileLocked).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
