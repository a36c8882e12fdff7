package redisstore

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// The HTTP tests run the real middleware over the real store: what a user
// of several app servers behind a load balancer sees.

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

// TestTwoAppServers: two Managers over one Redis, as two servers behind a
// load balancer. A login through one is seen by the other, and so is a
// logout, after which the old cookie is worthless.
func TestTwoAppServers(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			c := b.client(t)
			storetest.TwoAppServers(t, func(t *testing.T) (core.Store, core.Store) {
				return twoStores(t, c, b.opts)
			})
		})
	}
}

// TestConcurrentIncrements: 100 concurrent increments of one session,
// spread over two app servers with locking on, end at exactly 100 — twenty
// runs in a row.
func TestConcurrentIncrements(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s1, s2 := twoStores(t, b.client(t), b.opts)
			storetest.ConcurrentIncrements(t, 20, 100, s1, s2)
		})
	}
}

// TestRoundTrips counts the network round trips per request
// (storetest.RoundTrips): a request that reads its session waits for one,
// a read-modify-write for two, with or without locking and without
// ReadOnly(). A locked read's release is sent after the response by the
// store's background sender (release.go), batched with other requests'
// releases: counted apart. It counts on the client (a go-redis hook sees
// every command and pipeline sent) and shows Redis' own INFO commandstats
// next to it — those also count the commands a script runs inside the
// server, which cost no round trip. The Redis is the test's own, so
// nothing else is counted.
func TestRoundTrips(t *testing.T) {
	srv := startRedis(t)
	c := redis.NewClient(clientOptions(srv.addr))
	t.Cleanup(func() { c.Close() })
	rt := &roundTrips{cmds: map[string]int{}, server: c}
	c.AddHook(rt) // before the client is used: AddHook is not safe alongside commands
	ping(t, c)
	plain, locked := newStore(t, c, Options{}), newStore(t, c, Options{})
	settle := func() { plain.releasesSent(); locked.releasesSent() }
	storetest.RoundTrips(t, rt, settle, plain, locked, 1000)
}

// roundTrips is a go-redis hook that counts what the client sends: each
// command or pipeline is one round trip; the background release sender's
// are counted apart (storetest.RoundTripCounter). With server set, Counts
// also reports what Redis executed since Reset (INFO commandstats).
type roundTrips struct {
	server *redis.Client

	mu     sync.Mutex
	trips  int // round trips sent on a request's behalf
	after  int // round trips the background release sender sent
	cmds   map[string]int
	before map[string]int64 // the server's command counts at Reset
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(ctx, cmd)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.count(ctx, cmds...)
		return next(ctx, cmds)
	}
}

func (h *roundTrips) count(ctx context.Context, cmds ...redis.Cmder) {
	if handshake(cmds) || ctx.Value(statsCtx{}) != nil {
		return // a new connection's setup, or the counter's own INFO
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Value(senderCtx{}) != nil {
		h.after++
	} else {
		h.trips++
	}
	for _, c := range cmds {
		h.cmds[c.Name()]++
	}
}

// handshake reports whether cmds set up a connection (HELLO, CLIENT …).
func handshake(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		switch c.Name() {
		case "hello", "client", "auth", "select":
		default:
			return false
		}
	}
	return true
}

// statsCtx marks the counter's own INFO commands, which it does not count.
type statsCtx struct{}

func (h *roundTrips) Reset() {
	var before map[string]int64
	if h.server != nil {
		before = commandStats(h.server)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.trips, h.after, h.cmds, h.before = 0, 0, map[string]int{}, before
}

func (h *roundTrips) Counts() (waited, after int, detail string) {
	h.mu.Lock()
	waited, after, cmds, before := h.trips, h.after, maps.Clone(h.cmds), h.before
	h.mu.Unlock()
	detail = fmt.Sprintf("sent %v", cmds)
	if h.server != nil {
		var server []string
		for cmd, n := range commandStats(h.server) {
			if d := n - before[cmd]; d > 0 {
				server = append(server, fmt.Sprintf("%s=%d", cmd, d))
			}
		}
		sort.Strings(server)
		detail += fmt.Sprintf("; Redis executed %v", server)
	}
	return waited, after, detail
}

// commandStats returns the calls per command from INFO commandstats,
// leaving out connection housekeeping (HELLO, CLIENT, PING, INFO), or nil
// if Redis does not answer.
func commandStats(c *redis.Client) map[string]int64 {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), statsCtx{}, true), 5*time.Second)
	defer cancel()
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil
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
			app := storetest.NewApp(t, newStore(t, c, Options{}), locking)
			br := storetest.NewBrowser(t)
			storetest.MustGet(t, br, app.URL+"/login", "ok")
			for i := 1; i <= 3; i++ {
				storetest.MustGet(t, br, app.URL+"/inc", strconv.Itoa(i))
			}

			srv.stop(t)
			for _, path := range []string{"/get", "/inc", "/whoami", "/view"} {
				code, body, err := storetest.Get(br, app.URL+path)
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
				code, body, _ = storetest.Get(br, app.URL+"/get")
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
			storetest.MustGet(t, br, app.URL+"/inc", "4")
			storetest.MustGet(t, br, app.URL+"/whoami", "alice")
		})
	}
}
