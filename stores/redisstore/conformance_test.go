package redisstore

import (
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// conformanceLockTTL is short so the kit can check dead-holder recovery.
const conformanceLockTTL = 300 * time.Millisecond

// TestConformance runs the store conformance kit on every deployment and
// layout: single node and Cluster, hash-tagged and phpredis keys.
func TestConformance(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			client := b.client(t)
			storetest.Run(t, func(t *testing.T) core.Store {
				opts := b.opts
				opts.LockTTL = conformanceLockTTL
				return newStore(t, client, opts)
			}, storetest.LockTTL(conformanceLockTTL))
		})
	}
}
