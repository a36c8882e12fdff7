package pgstore

import (
	"context"
	"net/http"
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
// request (a pgx tracer; each is one network round trip): a request that
// reads its session waits for one, a read-modify-write for two, with or
// without locking and without ReadOnly(). A locked read's release runs
// after the response, in the background (release.go): counted apart.
func TestRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	pool := testPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = rt })
	plainStore, lockedStore := newStore(t, pool, Options{}), newStore(t, pool, Options{})
	plain := storetest.NewApp(t, plainStore, false)
	locked := storetest.NewApp(t, lockedStore, true)
	const requests = 480
	tests := []struct {
		name     string
		store    *Store
		app      *httptest.Server
		path     string
		browsers int     // in parallel, requests/browsers each
		max      float64 // round trips a request waits for
		maxAll   float64 // round trips per request, background releases included
	}{
		{"Read", plainStore, plain, "/get", 1, 1, 1},
		{"Write", plainStore, plain, "/inc", 1, 2, 2},
		{"LockedReadOnly", lockedStore, locked, "/view", 1, 1, 1},
		{"LockedRead", lockedStore, locked, "/get", 1, 1, 2},
		{"LockedWrite", lockedStore, locked, "/inc", 1, 2, 2},
		{"LockedReadParallel", lockedStore, locked, "/get", 16, 1, 2},
		{"LockedWriteParallel", lockedStore, locked, "/inc", 16, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			brs := make([]*http.Client, tt.browsers)
			for i := range brs {
				brs[i] = storetest.NewBrowser(t)
				storetest.MustGet(t, brs[i], tt.app.URL+"/login", "ok")
				for j := 0; j < 10; j++ { // warm up: statements prepared
					storetest.MustGet(t, brs[i], tt.app.URL+tt.path, "")
				}
			}
			tt.store.releaser.wg.Wait()
			rt.reset()
			var wg sync.WaitGroup
			for _, br := range brs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < requests/tt.browsers; i++ {
						if code, body, err := storetest.Get(br, tt.app.URL+tt.path); err != nil || code != http.StatusOK {
							t.Errorf("GET %s = %d %q, %v", tt.path, code, body, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			tt.store.releaser.wg.Wait()
			trips, after := rt.snapshot()
			n := float64(requests / tt.browsers * tt.browsers)
			per, all := float64(trips)/n, float64(trips+after)/n
			t.Logf("%s %s, %d browsers: %.3f round trips per request waited for, %.3f in all (%d after the response)",
				tt.name, tt.path, tt.browsers, per, all, after)
			if per > tt.max {
				t.Errorf("%s: %.3f round trips per request waited for, want at most %v", tt.name, per, tt.max)
			}
			if all > tt.maxAll {
				t.Errorf("%s: %.3f round trips per request in all, want at most %v", tt.name, all, tt.maxAll)
			}
		})
	}
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

func (r *roundTrips) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trips, r.after = 0, 0
}

func (r *roundTrips) snapshot() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.trips, r.after
}
