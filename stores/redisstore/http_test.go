package redisstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
)

// The HTTP tests run the real middleware over the real store: what a user
// of several app servers behind a load balancer sees.

// testKeys are the signing keys every "app server" of a test shares.
var testKeys = [][]byte{[]byte("0123456789abcdef0123456789abcdef-redisstore-tests")}

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

// twoStores returns two stores over one Redis and one key prefix: the
// stores of two app servers.
func twoStores(t testing.TB, c redis.UniversalClient, opts Options) (*Store, *Store) {
	t.Helper()
	s1 := newStore(t, c, opts)
	s2, err := New(c, s1.opts)
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

// get requests url and returns the status and body.
func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// mustGet requests url and fails t unless the answer is 200 with want
// (want "" accepts any body).
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

// TestTwoAppServers: two Managers over one Redis, as two servers behind a
// load balancer. A login through one is seen by the other, and so is a
// logout, after which the old cookie is worthless.
func TestTwoAppServers(t *testing.T) {
	for _, b := range backends() {
		for _, locking := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/Locking=%v", b.name, locking), func(t *testing.T) {
				c := b.client(t)
				s1, s2 := twoStores(t, c, b.opts)
				a, bsrv := newApp(t, s1, locking), newApp(t, s2, locking)
				br := newBrowser(t)

				mustGet(t, br, a.URL+"/login", "ok")
				mustGet(t, br, bsrv.URL+"/whoami", "alice")
				old := br.Jar.Cookies(mustURL(t, a.URL))
				mustGet(t, br, bsrv.URL+"/logout", "bye")
				mustGet(t, br, a.URL+"/whoami", "")

				// Replaying the cookie from before the logout.
				replay := newBrowser(t)
				replay.Jar.SetCookies(mustURL(t, a.URL), old)
				mustGet(t, replay, a.URL+"/whoami", "")
			})
		}
	}
}

// TestConcurrentIncrements: 100 concurrent increments of one session,
// spread over two app servers with locking on, end at exactly 100 — twenty
// runs in a row.
func TestConcurrentIncrements(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s1, s2 := twoStores(t, b.client(t), b.opts)
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
		})
	}
}

// TestRoundTrips counts the network round trips per request: a read costs
// one, a read-modify-write two, with or without locking. It counts on the
// client (a go-redis hook sees every command and pipeline sent) and shows
// Redis' own INFO commandstats next to it — those also count the commands
// a script runs inside the server, which cost no round trip. The Redis is
// the test's own, so nothing else is counted.
func TestRoundTrips(t *testing.T) {
	srv := startRedis(t)
	c := redis.NewClient(clientOptions(srv.addr))
	t.Cleanup(func() { c.Close() })
	ping(t, c)
	rt := &roundTrips{cmds: map[string]int{}}
	c.AddHook(rt)
	plain := newApp(t, newStore(t, c, Options{}), false)
	locked := newApp(t, newStore(t, c, Options{}), true)

	const requests = 1000
	tests := []struct {
		name string
		app  *httptest.Server
		path string
		max  float64 // round trips per request
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
			for i := 0; i < 10; i++ { // warm up: scripts cached, connections open
				mustGet(t, br, tt.app.URL+tt.path, "")
			}
			before := commandStats(t, c)
			rt.reset()
			for i := 0; i < requests; i++ {
				mustGet(t, br, tt.app.URL+tt.path, "")
			}
			trips, sent := rt.snapshot()
			after := commandStats(t, c)
			var server []string
			for cmd, n := range after {
				if d := n - before[cmd]; d > 0 {
					server = append(server, fmt.Sprintf("%s=%d", cmd, d))
				}
			}
			sort.Strings(server)
			per := float64(trips) / requests
			t.Logf("%s %s: %.3f round trips per request; %d requests sent %v; Redis executed %v",
				tt.name, tt.path, per, requests, sent, server)
			if per > tt.max {
				t.Fatalf("%s: %.3f round trips per request, want at most %v", tt.name, per, tt.max)
			}
		})
	}
}

// roundTrips is a go-redis hook that counts what the client sends: each
// command or pipeline is one round trip.
type roundTrips struct {
	mu    sync.Mutex
	trips int
	cmds  map[string]int
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(cmd)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.count(cmds...)
		return next(ctx, cmds)
	}
}

func (h *roundTrips) count(cmds ...redis.Cmder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.trips++
	for _, c := range cmds {
		h.cmds[c.Name()]++
	}
}

func (h *roundTrips) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.trips, h.cmds = 0, map[string]int{}
}

func (h *roundTrips) snapshot() (int, map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.trips, maps.Clone(h.cmds)
}

// commandStats returns the calls per command from INFO commandstats,
// leaving out connection housekeeping (HELLO, CLIENT, PING, INFO).
func commandStats(t testing.TB, c *redis.Client) map[string]int64 {
	t.Helper()
	info, err := c.Info(testCtx(t), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	stats := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		// cmdstat_get:calls=12,usec=...
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_")
		name, fields, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			continue
		}
		var calls int64
		if _, err := fmt.Sscanf(fields, "calls=%d", &calls); err != nil {
			continue
		}
		switch {
		case name == "info", name == "ping", name == "hello", name == "select",
			strings.HasPrefix(name, "client"), strings.HasPrefix(name, "command"), strings.HasPrefix(name, "cluster"):
			continue
		}
		stats[name] = calls
	}
	return stats
}

// TestRedisDown stops a Redis in the middle of a session: requests get
// 503 — never 200 with an empty session — and recover by themselves once
// Redis is back, with the session intact.
func TestRedisDown(t *testing.T) {
	for _, locking := range []bool{false, true} {
		t.Run(fmt.Sprintf("Locking=%v", locking), func(t *testing.T) {
			srv := startRedis(t)
			c := redis.NewClient(&redis.Options{
				Addr:                  srv.addr,
				DialTimeout:           300 * time.Millisecond,
				ReadTimeout:           500 * time.Millisecond,
				WriteTimeout:          500 * time.Millisecond,
				ContextTimeoutEnabled: true,
				MaxRetries:            1,
			})
			t.Cleanup(func() { c.Close() })
			ping(t, c)
			app := newApp(t, newStore(t, c, Options{}), locking)
			br := newBrowser(t)
			mustGet(t, br, app.URL+"/login", "ok")
			for i := 1; i <= 3; i++ {
				mustGet(t, br, app.URL+"/inc", strconv.Itoa(i))
			}

			srv.stop(t)
			for _, path := range []string{"/get", "/inc", "/whoami", "/view"} {
				code, body, err := get(br, app.URL+path)
				if err != nil {
					t.Fatalf("GET %s with Redis down: %v", path, err)
				}
				if code != http.StatusServiceUnavailable {
					t.Fatalf("GET %s with Redis down = %d %q, want 503", path, code, body)
				}
			}

			srv.start(t)
			recovered := false
			var code int
			var body string
			for i := 0; i < 100 && !recovered; i++ {
				code, body, _ = get(br, app.URL+"/get")
				recovered = code == http.StatusOK
				if !recovered {
					time.Sleep(100 * time.Millisecond)
				}
			}
			if !recovered {
				t.Fatalf("requests did not recover after Redis came back: last %d %q", code, body)
			}
			if body != "3" {
				t.Fatalf("after recovery the counter is %q, want 3 (the session survived in Redis)", body)
			}
			mustGet(t, br, app.URL+"/inc", "4")
			mustGet(t, br, app.URL+"/whoami", "alice")
		})
	}
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
