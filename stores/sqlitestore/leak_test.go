package sqlitestore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: database/sql
// starts a connection opener per DB (ended by DB.Close) and the store's
// Managers a GC sweeper each.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
