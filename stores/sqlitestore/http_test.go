package sqlitestore_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// twoStores returns two stores with their own *sql.DB on one fresh
// database file: two processes, in effect.
func twoStores(t *testing.T) (*sqlitestore.Store, *sqlitestore.Store) {
	t.Helper()
	db1, path := openDB(t)
	db2, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	return newStore(t, db1, sqlitestore.Options{}), newStore(t, db2, sqlitestore.Options{})
}

// TestConcurrentIncrements: 100 concurrent increments of one session
// through the net/http middleware with locking, spread over two servers
// with their own *sql.DB on one database file (two processes, in effect),
// end at exactly 100 — twenty runs in a row.
func TestConcurrentIncrements(t *testing.T) {
	s1, s2 := twoStores(t)
	storetest.ConcurrentIncrements(t, 20, 100, s1, s2)
}

// TestTwoAppServers: login, logout and a stale cookie through two servers
// on one database file.
func TestTwoAppServers(t *testing.T) {
	storetest.TwoAppServers(t, func(t *testing.T) (core.Store, core.Store) {
		return twoStores(t)
	})
}
