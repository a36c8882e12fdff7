package pgstore

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// TestUnlockAfterRead: the Unlock of a holder that only read returns at
// once and its release runs in the background; a Lock of the same session
// meanwhile is granted when it lands. After Close (which waits for the
// releases still running) Unlock releases before it returns.
func TestUnlockAfterRead(t *testing.T) {
	ctx := storetest.Context(t)
	rt := &roundTrips{}
	s := newStore(t, testPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = rt }), Options{})
	id := storetest.NewID(t)
	if err := s.Write(ctx, id, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const n = 20
	rt.Reset()
	for i := 0; i < n; i++ {
		l := mustLock(ctx, t, s, id)
		if err := l.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		next := lockAtOnce(ctx, t, s, id) // waits inside PostgreSQL for the release, if it has not landed
		if err := next.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if trips, after, _ := rt.Counts(); trips != 2*n || after != 2*n {
		t.Fatalf("%d locks and unlocks: %d round trips waited for, %d in the background; want %d and %d", 2*n, trips, after, 2*n, 2*n)
	}

	rt.Reset()
	l := mustLock(ctx, t, s, id)
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if trips, after, _ := rt.Counts(); trips != 2 || after != 0 {
		t.Fatalf("after Close, a lock and an unlock: %d round trips waited for, %d in the background; want 2 and 0", trips, after)
	}
	lockAtOnce(ctx, t, s, id).Unlock(ctx)
}
