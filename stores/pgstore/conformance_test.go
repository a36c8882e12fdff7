package pgstore

import (
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// conformanceLockTTL is short so the kit can check that a holder past its
// TTL loses the lock.
const conformanceLockTTL = 300 * time.Millisecond

func TestConformance(t *testing.T) {
	pool := testPool(t)
	table := testTable(t)
	dropWith(t, pool, table)
	storetest.Run(t, func(t *testing.T) core.Store {
		s, err := New(pool, Options{Table: table, LockTTL: conformanceLockTTL})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.LockTTL(conformanceLockTTL))
}
