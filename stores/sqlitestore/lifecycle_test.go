package sqlitestore_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// TestLifecycle: overlapping requests of one browser (logout, login in a
// parallel tab, a planted token, concurrent increments) through the
// middleware, with locking off and on, 50 rounds each.
func TestLifecycle(t *testing.T) {
	storetest.Lifecycle(t, 50, func(t *testing.T) core.Store {
		db, _ := openDB(t)
		return newStore(t, db, sqlitestore.Options{})
	})
}
