package core_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
)

// countingStore wraps a store and counts every call, so tests can assert
// "zero store calls" and "no write" exactly. It forwards every capability
// the wrapped store has.
type countingStore struct {
	inner                                          core.Store
	reads, writes, destroys, touches, swaps, locks atomic.Int64
	exists, gcs                                    atomic.Int64
	down                                           atomic.Bool // every call fails
}

var errDown = &net503{}

type net503 struct{}

func (*net503) Error() string { return "connection refused (test store is down)" }

func newCounting(inner core.Store) *countingStore { return &countingStore{inner: inner} }

func (c *countingStore) calls() int64 {
	return c.reads.Load() + c.writes.Load() + c.destroys.Load() + c.touches.Load() +
		c.swaps.Load() + c.locks.Load() + c.exists.Load()
}

func (c *countingStore) Capabilities() core.Capability { return core.Capabilities(c.inner) }

func (c *countingStore) Read(ctx context.Context, id string) ([]byte, bool, error) {
	c.reads.Add(1)
	if c.down.Load() {
		return nil, false, errDown
	}
	return c.inner.Read(ctx, id)
}

func (c *countingStore) Write(ctx context.Context, id string, data []byte, exp time.Time) error {
	c.writes.Add(1)
	if c.down.Load() {
		return errDown
	}
	return c.inner.Write(ctx, id, data, exp)
}

func (c *countingStore) Destroy(ctx context.Context, id string) error {
	c.destroys.Add(1)
	if c.down.Load() {
		return errDown
	}
	return c.inner.Destroy(ctx, id)
}

func (c *countingStore) Touch(ctx context.Context, id string, exp time.Time) error {
	c.touches.Add(1)
	if c.down.Load() {
		return errDown
	}
	return c.inner.(core.Toucher).Touch(ctx, id, exp)
}

func (c *countingStore) Exists(ctx context.Context, id string) (bool, error) {
	c.exists.Add(1)
	if c.down.Load() {
		return false, errDown
	}
	return c.inner.(core.Exister).Exists(ctx, id)
}

func (c *countingStore) Swap(ctx context.Context, id string, old, new []byte, exp time.Time) (bool, error) {
	c.swaps.Add(1)
	if c.down.Load() {
		return false, errDown
	}
	return c.inner.(core.Swapper).Swap(ctx, id, old, new, exp)
}

func (c *countingStore) GC(ctx context.Context, now time.Time) (int, error) {
	c.gcs.Add(1)
	return c.inner.(core.Collector).GC(ctx, now)
}

func (c *countingStore) Lock(ctx context.Context, id string) (core.Lock, error) {
	c.locks.Add(1)
	if c.down.Load() {
		return nil, errDown
	}
	return c.inner.(core.Locker).Lock(ctx, id)
}

// writesAll counts writes and swaps: every way data reaches the store.
func (c *countingStore) writesAll() int64 { return c.writes.Load() + c.swaps.Load() }

var testKey = []byte("0123456789abcdef0123456789abcdef")

// harness is a Manager over a counting memstore behind a real HTTP server,
// with a client that keeps cookies.
type harness struct {
	t      *testing.T
	m      *core.Manager
	store  *countingStore
	srv    *httptest.Server
	client *http.Client
}

func newHarness(t *testing.T, cfg core.Config, routes func(mux *http.ServeMux)) *harness {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = [][]byte{testKey}
	}
	cfg.Cookie.Insecure = true
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	store := newCounting(memstore.New(memstore.Options{}))
	m, err := core.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	routes(mux)
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
	})
	jar, _ := cookiejar.New(nil)
	return &harness{t: t, m: m, store: store, srv: srv, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// get requests path and returns status, body and the response.
func (h *harness) get(path string, hdr ...string) (int, string, *http.Response) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b)), res
}

// cookie returns the jar's session cookie value ("" if none).
func (h *harness) cookie() string {
	u, _ := http.NewRequest("GET", h.srv.URL, nil)
	for _, c := range h.client.Jar.Cookies(u.URL) {
		if c.Name == "sid" {
			return c.Value
		}
	}
	return ""
}

// counterRoutes: /inc increments n, /get shows it, /nop ignores the session.
func counterRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/inc", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "n")
		s.Set("n", n+1)
		io.WriteString(w, itoa(n+1))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "n")
		io.WriteString(w, itoa(n))
	})
	mux.HandleFunc("/nop", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "nop")
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Regenerate()
		s.Set("user", "alice")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Destroy()
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("/user", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		u, _ := core.Get[string](s, "user")
		io.WriteString(w, u)
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func newJar() (http.CookieJar, error) { return cookiejar.New(nil) }

// quiet discards the Manager's log lines in tests.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func (c *countingStore) AddUserSession(ctx context.Context, user, id string, exp time.Time) error {
	return c.inner.(core.UserIndex).AddUserSession(ctx, user, id, exp)
}

func (c *countingStore) RemoveUserSession(ctx context.Context, user, id string) error {
	return c.inner.(core.UserIndex).RemoveUserSession(ctx, user, id)
}

func (c *countingStore) UserSessions(ctx context.Context, user string) ([]string, error) {
	return c.inner.(core.UserIndex).UserSessions(ctx, user)
}
