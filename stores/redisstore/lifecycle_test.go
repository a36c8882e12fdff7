package redisstore

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// TestLifecycle: overlapping requests of one browser (logout, login in a
// parallel tab, a planted token, concurrent increments) through the
// middleware, with locking off and on, 50 rounds each, on a single Redis
// and on a Cluster.
func TestLifecycle(t *testing.T) {
	for _, b := range backends() {
		if b.opts.NoHashTag {
			continue // the layout does not change what core does
		}
		t.Run(b.name, func(t *testing.T) {
			c := b.client(t)
			storetest.Lifecycle(t, 50, func(t *testing.T) core.Store { return newStore(t, c, b.opts) })
		})
	}
}
