package pgstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/core"
)

// The HTTP tests run the real middleware over the real store: what a user
// of several app servers behind a load balancer sees.

// testKeys are the signing keys every "app server" of a test shares.
var testKeys = [][]byte{[]byte("0123456789abcdef0123456789abcdef-pgstore-tests")}

// appHandler is a tiny app: login, whoami, logout, a counter, and a
// read-only view of it.
func appHandler(t testing.TB) http.Handler {
	mux := http.NewServeMux()
	session := func(w http.ResponseWriter, r *http.Request) *core.Session {
		s, err := core.FromContext(r.Context())
		if err != nil {
			t.Errorf("FromContext: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
		return s
	}
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if s := session(w, r); s != nil {
			s.Set("user", "alice")
			s.Regenerate()
			io.WriteString(w, "ok")
		}
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		if s := session(w, r); s != nil {
			u, _ := core.Get[string](s, "user")
			io.WriteString(w, u)
		}
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if s := session(w, r); s != nil {
			s.Destroy()
			io.WriteString(w, "bye")
		}
	})
	mux.HandleFunc("/inc", func(w http.ResponseWriter, r *http.Request) {
		if s := session(w, r); s != nil {
			n, _ := core.Get[int](s, "n")
			s.Set("n", n+1)
			io.WriteString(w, strconv.Itoa(n+1))
		}
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		if s := session(w, r); s != nil {
			n, _ := core.Get[int](s, "n")
			io.WriteString(w, strconv.Itoa(n))
		}
	})
	mux.HandleFunc("/view", func(w http.ResponseWriter, r *http.Request) {
		if s := session(w, r); s != nil {
			s.ReadOnly()
			n, _ := core.Get[int](s, "n")
			io.WriteString(w, strconv.Itoa(n))
		}
	})
	return mux
}

// newApp starts one app server over store; it stops with t.
func newApp(t testing.TB, store core.Store, locking bool) *httptest.Server {
	t.Helper()
	m, err := core.New(store, core.Config{
		Keys:          testKeys,
		Locking:       locking,
		Cookie:        core.CookieConfig{Insecure: true},
		TouchInterval: time.Hour, // no idle extension in the middle of a count
		GCInterval:    -1,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	srv := httptest.NewServer(m.Handler(appHandler(t)))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
	})
	return srv
}

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

// newBrowser returns an HTTP client with its own cookie jar: one user.
func newBrowser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:       jar,
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 128},
	}
}

func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// mustGet fails t unless url answers 200 with want ("" accepts any body).
func mustGet(t testing.TB, c *http.Client, url, want string) string {
	t.Helper()
	code, body, err := get(c, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if code != http.StatusOK || (want != "" && body != want) {
		t.Fatalf("GET %s = %d %q, want 200 %q", url, code, body, want)
	}
	return body
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestTwoAppServers: two Managers over one PostgreSQL, as two servers
// behind a load balancer. A login through one is seen by the other, and so
// is a logout, after which the old cookie is worthless.
func TestTwoAppServers(t *testing.T) {
	pool := testPool(t)
	for _, locking := range []bool{false, true} {
		t.Run(fmt.Sprintf("Locking=%v", locking), func(t *testing.T) {
			s1, s2 := twoStores(t, pool)
			a, b := newApp(t, s1, locking), newApp(t, s2, locking)
			br := newBrowser(t)

			mustGet(t, br, a.URL+"/login", "ok")
			mustGet(t, br, b.URL+"/whoami", "alice")
			old := br.Jar.Cookies(mustURL(t, a.URL))
			mustGet(t, br, b.URL+"/logout", "bye")
			mustGet(t, br, a.URL+"/whoami", "")

			replay := newBrowser(t)
			replay.Jar.SetCookies(mustURL(t, a.URL), old)
			mustGet(t, replay, a.URL+"/whoami", "")
		})
	}
}

// TestConcurrentIncrements: 100 concurrent increments of one session,
// spread over two app servers with locking on, end at exactly 100 — twenty
// runs in a row.
func TestConcurrentIncrements(t *testing.T) {
	s1, s2 := twoStores(t, testPool(t))
	servers := []*httptest.Server{newApp(t, s1, true), newApp(t, s2, true)}
	const runs, n = 20, 100
	for run := 0; run < runs; run++ {
		br := newBrowser(t)
		mustGet(t, br, servers[0].URL+"/login", "ok")
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(srv *httptest.Server) {
				defer wg.Done()
				code, body, err := get(br, srv.URL+"/inc")
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("status %d: %s", code, body)
				}
				errs <- err
			}(servers[i%2])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("run %d: /inc: %v", run, err)
			}
		}
		mustGet(t, br, servers[1].URL+"/get", strconv.Itoa(n))
		br.CloseIdleConnections()
	}
}

// TestRoundTrips counts the statements and batches the driver sends per
// request (a pgx tracer; each is one network round trip): a read costs
// one, a read-modify-write two, with or without locking.
func TestRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	pool := testPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = rt })
	plain := newApp(t, newStore(t, pool, Options{}), false)
	locked := newApp(t, newStore(t, pool, Options{}), true)
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
			br := newBrowser(t)
			mustGet(t, br, tt.app.URL+"/login", "ok")
			for i := 0; i < 10; i++ { // warm up: statements prepared
				mustGet(t, br, tt.app.URL+tt.path, "")
			}
			rt.reset()
			for i := 0; i < requests; i++ {
				mustGet(t, br, tt.app.URL+tt.path, "")
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
