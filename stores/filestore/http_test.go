package filestore_test

import (
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/filestore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// httpLayouts are the file layouts the HTTP tests run on.
var httpLayouts = []struct {
	name string
	opts filestore.Options
}{
	{"ExpiryAsMtime", filestore.Options{}},
	{"PHPMaxLifetime", filestore.Options{Depth: 1, MaxLifetime: 24 * time.Minute}},
}

// twoStores returns two Stores on one fresh directory, as two processes
// sharing it would have.
func twoStores(t *testing.T, opts filestore.Options) (*filestore.Store, *filestore.Store) {
	t.Helper()
	dir := t.TempDir()
	s1, err := filestore.New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := filestore.New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s1, s2
}

// TestConcurrentIncrements: 100 concurrent increments of one session
// through the net/http middleware with locking, spread over two servers
// (two Stores, as two processes would have) sharing one directory, end at
// exactly 100 — twenty runs in a row.
func TestConcurrentIncrements(t *testing.T) {
	for _, tt := range httpLayouts {
		t.Run(tt.name, func(t *testing.T) {
			s1, s2 := twoStores(t, tt.opts)
			storetest.ConcurrentIncrements(t, 20, 100, s1, s2)
		})
	}
}

// TestTwoAppServers: login, logout and a stale cookie through two servers
// sharing one directory.
func TestTwoAppServers(t *testing.T) {
	for _, tt := range httpLayouts {
		t.Run(tt.name, func(t *testing.T) {
			storetest.TwoAppServers(t, func(t *testing.T) (core.Store, core.Store) {
				return twoStores(t, tt.opts)
			})
		})
	}
}
