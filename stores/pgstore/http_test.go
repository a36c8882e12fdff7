package pgstore

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// The HTTP tests run the real middleware over the real store: what a user
// of several app servers behind a load balancer sees.

// twoStores returns the stores of two app servers sharing one table.
func twoStores(t testing.TB, pool *pgxpool.Pool) (*Store, *Store) {
	t.Helper()
	s1 := newStore(t, pool, Options{})
	s2, err := New(pool, s1.opts)
	if err != nil {
		t.Fatal(err)
	}
	return s1, s2
}

// TestTwoAppServers: two Managers over one PostgreSQL, as two servers
// behind a load balancer. A login through one is seen by the other, and so
// is a logout, after which the old cookie is worthless.
func TestTwoAppServers(t *testing.T) {
	pool := testPool(t)
	storetest.TwoAppServers(t, func(t *testing.T) (core.Store, core.Store) {
		return twoStores(t, pool)
	})
}

// TestConcurrentIncrements: 100 concurrent increments of one session,
// spread over two app servers with locking on, end at exactly 100 — twenty
// runs in a row.
func TestConcurrentIncrements(t *testing.T) {
	s1, s2 := twoStores(t, testPool(t))
	storetest.ConcurrentIncrements(t, 20, 100, s1, s2)
}

// TestRoundTrips counts the statements and batches the driver sends per
// request (storetest.RoundTrips; a pgx tracer, each is one network round
// trip): a request that reads its session waits for one, a
// read-modify-write for two, with or without locking and without
// ReadOnly(). A locked read's release runs after the response, in the
// background (release.go): counted apart.
func TestRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	pool := testPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = rt })
	plain, locked := twoStores(t, pool)
	settle := func() { plain.releaser.wg.Wait(); locked.releaser.wg.Wait() }
	storetest.RoundTrips(t, rt, settle, plain, locked, 480)
}

// roundTrips is a pgx tracer counting single statements and batches.
type roundTrips struct {
	mu           sync.Mutex
	trips, after int // on a request's behalf; background releases
}

func (r *roundTrips) count(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(backgroundRelease{}) != nil {
		r.after++
	} else {
		r.trips++
	}
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.count(ctx)
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.count(ctx)
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func (r *roundTrips) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trips, r.after = 0, 0
}

func (r *roundTrips) Counts() (waited, after int, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.trips, r.after, ""
}
