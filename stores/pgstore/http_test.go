package pgstore

import (
	"context"
	"net/http/httptest"
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
// request (a pgx tracer; each is one network round trip): a read costs
// one, a read-modify-write two, with or without locking.
func TestRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	pool := testPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = rt })
	plain := storetest.NewApp(t, newStore(t, pool, Options{}), false)
	locked := storetest.NewApp(t, newStore(t, pool, Options{}), true)
	const requests = 500
	tests := []struct {
		name string
		app  *httptest.Server
		path string
		max  float64
	}{
		{"Read", plain, "/get", 1},
		{"Write", plain, "/inc", 2},
		{"LockedReadOnly", locked, "/view", 1},
		{"LockedRead", locked, "/get", 2},
		{"LockedWrite", locked, "/inc", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := storetest.NewBrowser(t)
			storetest.MustGet(t, br, tt.app.URL+"/login", "ok")
			for i := 0; i < 10; i++ { // warm up: statements prepared
				storetest.MustGet(t, br, tt.app.URL+tt.path, "")
			}
			rt.reset()
			for i := 0; i < requests; i++ {
				storetest.MustGet(t, br, tt.app.URL+tt.path, "")
			}
			queries, batches := rt.snapshot()
			per := float64(queries+batches) / requests
			t.Logf("%s %s: %.3f round trips per request (%d statements, %d batches in %d requests)",
				tt.name, tt.path, per, queries, batches, requests)
			if per > tt.max {
				t.Fatalf("%s: %.3f round trips per request, want at most %v", tt.name, per, tt.max)
			}
		})
	}
}

// roundTrips is a pgx tracer counting single statements and batches.
type roundTrips struct {
	mu               sync.Mutex
	queries, batches int
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.queries++
	r.mu.Unlock()
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.mu.Lock()
	r.batches++
	r.mu.Unlock()
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func (r *roundTrips) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries, r.batches = 0, 0
}

func (r *roundTrips) snapshot() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queries, r.batches
}
