package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// The Cluster fault tests: a node of a Redis Cluster goes down, stalls or
// crashes while users work. The Cluster is the test's own — three masters
// without replicas, each persisting every write (appendfsync always) as a
// production node with persistence would — so the shared one stays whole.

// testCluster is a Cluster of three masters of the test's own.
type testCluster struct {
	nodes []*node
}

// startCluster starts three cluster nodes with a one-second node timeout,
// gives each a third of the slots, introduces them and waits until every
// node sees the Cluster whole.
func startCluster(t *testing.T) *testCluster {
	t.Helper()
	ctx := storetest.Context(t)
	tc := &testCluster{}
	for range 3 {
		n := newNode(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "1000", "--cluster-port", strconv.Itoa(freePort(t)),
			"--appendonly", "yes", "--appendfsync", "always")
		n.start(t)
		tc.nodes = append(tc.nodes, n)
	}
	slots := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	for i, n := range tc.nodes {
		c := n.client(t)
		if err := c.Do(ctx, "cluster", "set-config-epoch", i+1).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Do(ctx, "cluster", "addslotsrange", slots[i][0], slots[i][1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	first := tc.nodes[0].client(t)
	for _, n := range tc.nodes[1:] {
		bus := n.args[slicesIndex(n.args, "--cluster-port")+1]
		if err := first.Do(ctx, "cluster", "meet", "127.0.0.1", n.port, bus).Err(); err != nil {
			t.Fatal(err)
		}
	}
	tc.waitOK(t)
	return tc
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// waitOK waits up to twenty seconds until every node reports
// cluster_state:ok and knows all three, and returns how long that took.
func (tc *testCluster) waitOK(t *testing.T) time.Duration {
	t.Helper()
	ctx := storetest.Context(t)
	start := time.Now()
	for _, n := range tc.nodes {
		c := redis.NewClient(&redis.Options{Addr: n.addr(), DialTimeout: 250 * time.Millisecond, ReadTimeout: time.Second, MaxRetries: -1})
		waitFor(t, 20*time.Second, "cluster_state:ok on "+n.addr(), func() error {
			state, err := infoClusterField(ctx, c, "cluster_state")
			if err == nil && state != "ok" {
				err = fmt.Errorf("cluster_state:%s", state)
			}
			if err != nil {
				return err
			}
			known, err := infoClusterField(ctx, c, "cluster_known_nodes")
			if err == nil && known != "3" {
				err = fmt.Errorf("cluster_known_nodes:%s", known)
			}
			return err
		})
		c.Close()
	}
	return time.Since(start)
}

// infoClusterField returns field of CLUSTER INFO.
func infoClusterField(ctx context.Context, c *redis.Client, field string) (string, error) {
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no %s in CLUSTER INFO", field)
}

func (tc *testCluster) addrs() []string {
	var out []string
	for _, n := range tc.nodes {
		out = append(out, n.addr())
	}
	return out
}

// faultClusterClient returns a client of tc with timeouts far below the
// faults the tests inject, closed with t.
func faultClusterClient(t *testing.T, tc *testCluster) *redis.ClusterClient {
	t.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:       tc.addrs(),
		DialTimeout: 250 * time.Millisecond,
		ReadTimeout: 250 * time.Millisecond,
		// go-redis (v9.15 on) tries a refused dial five times, 100 ms
		// apart, before a command even counts a retry: a dead node would
		// hold each request about 1.7 s before its 503.
		DialerRetries:         1,
		WriteTimeout:          250 * time.Millisecond,
		ContextTimeoutEnabled: true,
		PoolSize:              16,
	})
	t.Cleanup(func() { c.Close() })
	ping(t, c)
	return c
}

// faultApp is an app server over a store whose failures it records: the
// counter app of storetest (/inc, /get), with a lock timeout of five
// seconds, so a lock left behind shows as a lock timeout instead of a
// minute's wait.
type faultApp struct {
	*httptest.Server
	mu   sync.Mutex
	errs []error
}

func newFaultApp(t *testing.T, store core.Store, locking bool) *faultApp {
	t.Helper()
	a := &faultApp{}
	m, err := core.New(store, core.Config{
		Keys:          [][]byte{[]byte("redisstore-cluster-fault-signing-key-0123456789")},
		Locking:       locking,
		LockTimeout:   5 * time.Second,
		Cookie:        core.CookieConfig{Insecure: true},
		TouchInterval: time.Hour,
		GCInterval:    -1,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			a.mu.Lock()
			a.errs = append(a.errs, err)
			a.mu.Unlock()
			status := core.ErrorStatus(err)
			http.Error(w, http.StatusText(status), status)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/inc", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := s.Get("n")
		i, _ := n.(int)
		s.Set("n", i+1)
		io.WriteString(w, strconv.Itoa(i+1))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := s.Get("n")
		i, _ := n.(int)
		io.WriteString(w, strconv.Itoa(i))
	})
	a.Server = httptest.NewServer(m.Handler(mux))
	t.Cleanup(func() {
		a.Close()
		if err := m.Close(); err != nil {
			t.Errorf("closing the Manager: %v", err)
		}
	})
	return a
}

// checkErrors fails t unless every failure the app answered since the
// last call was a *core.StoreError, which matches core.ErrStore: never a
// lock timeout (a lock left behind), never anything else. It returns how
// many there were.
func (a *faultApp) checkErrors(t *testing.T) int {
	t.Helper()
	a.mu.Lock()
	errs := a.errs
	a.errs = nil
	a.mu.Unlock()
	for _, err := range errs {
		var se *core.StoreError
		if !errors.As(err, &se) || !errors.Is(err, core.ErrStore) {
			t.Errorf("session failure %T %q, want a *core.StoreError matching core.ErrStore", err, err)
		}
	}
	return len(errs)
}

// clusterUser is a browser whose session lives on a chosen node, with the
// app server it uses and its counter as it was last acknowledged.
type clusterUser struct {
	name  string
	app   *faultApp
	br    *http.Client
	id    string
	acked int
}

// userOn makes browsers on app, each with a fresh session (one /inc),
// until one's session lives on victim, and returns it.
func userOn(ctx context.Context, t *testing.T, name string, app *faultApp, s *Store, c *redis.ClusterClient, victim *node, others ...*clusterUser) *clusterUser {
	t.Helper()
	for range 50 {
		br := storetest.NewBrowser(t)
		storetest.MustGet(t, br, app.URL+"/inc", "1")
		id, addr := newestSession(ctx, t, s, c, others)
		if addr == victim.addr() {
			return &clusterUser{name: name, app: app, br: br, id: id, acked: 1}
		}
		if err := s.Destroy(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("no session of 50 landed on %s", victim.addr())
	return nil
}

// newestSession returns the one session record under s's prefix that is
// not one of others' (the tests destroy the rest) and the address of the
// node that has it.
func newestSession(ctx context.Context, t *testing.T, s *Store, c *redis.ClusterClient, others []*clusterUser) (id, addr string) {
	t.Helper()
	var (
		mu    sync.Mutex
		found [][2]string
	)
	err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		keys, err := n.Keys(ctx, globEscape(s.opts.KeyPrefix)+"{*}").Result()
		mu.Lock()
	keys:
		for _, k := range keys {
			for _, o := range others {
				if k == s.key(o.id) {
					continue keys
				}
			}
			found = append(found, [2]string{k, n.Options().Addr})
		}
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("%d session records under the prefix, want 1: %v", len(found), found)
	}
	k := found[0][0]
	return k[len(s.opts.KeyPrefix)+1 : len(k)-1], found[0][1]
}

// get requests path for u and fails t on anything but 200 or 503; it
// returns the status and the count in the body (on 200).
func (u *clusterUser) get(t *testing.T, path string) (int, int) {
	t.Helper()
	code, body, err := storetest.Get(u.br, u.app.URL+path)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", u.name, path, err)
	}
	switch code {
	case http.StatusOK:
		n, err := strconv.Atoi(body)
		if err != nil {
			t.Fatalf("%s: GET %s = 200 %q", u.name, path, body)
		}
		return code, n
	case http.StatusServiceUnavailable:
		return code, 0
	}
	t.Fatalf("%s: GET %s = %d %q, want 200 or 503", u.name, path, code, body)
	return 0, 0
}

// inc sends /inc and checks a 200's count against the acknowledged one:
// one more, or more than that if earlier failed increments applied.
func (u *clusterUser) inc(t *testing.T) int {
	t.Helper()
	code, n := u.get(t, "/inc")
	if code == http.StatusOK {
		if n <= u.acked {
			t.Fatalf("%s: /inc answered %d after %d was acknowledged: an acknowledged write was lost", u.name, n, u.acked)
		}
		u.acked = n
	}
	return code
}

// wantDown checks that the user's requests fail with 503 and a store error.
func (u *clusterUser) wantDown(t *testing.T) {
	t.Helper()
	for _, path := range []string{"/get", "/inc"} {
		if code, _ := u.get(t, path); code != http.StatusServiceUnavailable {
			t.Fatalf("%s: GET %s with its node down = %d, want 503", u.name, path, code)
		}
	}
	if u.app.checkErrors(t) == 0 {
		t.Fatalf("%s: no store error recorded for the 503s", u.name)
	}
}

// recover polls /get until it answers 200, up to twenty seconds, and
// returns how long that took. The count must be the acknowledged one, or
// more if increments that got a 503 applied after all (at most tried).
func (u *clusterUser) recover(t *testing.T, tried int) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		code, n := u.get(t, "/get")
		if code == http.StatusOK {
			if n < u.acked || n > u.acked+tried {
				t.Fatalf("%s: after recovery the count is %d, want %d to %d", u.name, n, u.acked, u.acked+tried)
			}
			u.acked = n
			u.app.checkErrors(t)
			return time.Since(start)
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("%s: no success within 20 s of the node's return", u.name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wantClean checks that the user's session is whole and free: its lock
// key is gone (within two seconds: abandoned attempts are settled in the
// background) and a locked increment succeeds at once.
func (u *clusterUser) wantClean(ctx context.Context, t *testing.T, s *Store, c *redis.ClusterClient) {
	t.Helper()
	waitFor(t, 2*time.Second, u.name+"'s lock released", func() error {
		n, err := c.Exists(ctx, s.lockKey(u.id)).Result()
		if err == nil && n != 0 {
			err = errors.New("the lock key exists")
		}
		return err
	})
	if code := u.inc(t); code != http.StatusOK {
		t.Fatalf("%s: /inc after recovery = %d", u.name, code)
	}
	if n := u.app.checkErrors(t); n != 0 {
		t.Fatalf("%s: %d failures after recovery", u.name, n)
	}
}

// commitKiller is a go-redis hook that, once armed, kills a node just
// before the next session write (the write or swap script) goes out.
type commitKiller struct {
	armed atomic.Pointer[func()]
}

func (h *commitKiller) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *commitKiller) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.EqualFold(cmd.Name(), "evalsha") && len(cmd.Args()) > 1 {
			if sha, _ := cmd.Args()[1].(string); sha == writeScript.Hash() || sha == swapScript.Hash() {
				if kill := h.armed.Swap(nil); kill != nil {
					(*kill)()
				}
			}
		}
		return next(ctx, cmd)
	}
}

func (h *commitKiller) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestClusterFaults takes down the node that holds two users' sessions —
// one on an app server with locking, one without — in the ways a node
// fails: down while requests come, killed just before a commit, stalled
// (SIGSTOP) far beyond the client's timeouts, killed mid-request again and
// again, shut down and restarted. Every time: 503s carrying a
// *core.StoreError, no other answer but 200; no acknowledged increment
// lost and none torn; no lock left behind; requests succeed again once
// the node is back, without restarting the app. It logs how long after
// the node's return the Cluster reported itself whole and the requests
// succeeded. Goroutines are back to what they were at the end.
func TestClusterFaults(t *testing.T) {
	noLeaks(t)
	ctx := storetest.Context(t)
	tc := startCluster(t)
	c := faultClusterClient(t, tc)
	killer := &commitKiller{}
	c.AddHook(killer)
	loadScripts(t, c)
	s := newStore(t, c, Options{})
	s.settleTimeout = 10 * time.Second // a write killed mid-commit is settled once the node is back
	locked, plain := newFaultApp(t, s, true), newFaultApp(t, s, false)
	victim := tc.nodes[1]

	var recoveries recoveryLog
	t.Cleanup(func() { t.Log(recoveries.String()) })

	// report brings the victim back (back returns when it did: a
	// restart, or SIGCONT), waits until every user's requests succeed and
	// logs how long that took, and how long until every node reported
	// cluster_state:ok; then it checks the sessions are whole and free.
	report := func(t *testing.T, what string, users []*clusterUser, tried int, back func() time.Time) {
		t.Helper()
		returned := back()
		for _, u := range users {
			u.recover(t, tried)
		}
		recovered := time.Since(returned)
		tc.waitOK(t)
		whole := time.Since(returned)
		t.Logf("%s: requests succeeded again %v after the node's return; every node reported cluster_state:ok by %v",
			what, recovered.Round(time.Millisecond), whole.Round(time.Millisecond))
		recoveries.add(what, recovered)
		loadScripts(t, c)
		for _, u := range users {
			u.wantClean(ctx, t, s, c)
		}
	}
	start := func() time.Time {
		victim.start(t)
		return time.Now()
	}

	users := []*clusterUser{userOn(ctx, t, "locking", locked, s, c, victim)}
	users = append(users, userOn(ctx, t, "plain", plain, s, c, victim, users[0]))

	t.Run("DownAtLoad", func(t *testing.T) {
		victim.kill(t)
		for _, u := range users {
			u.wantDown(t)
		}
		report(t, "down at load", users, 1, start)
	})

	t.Run("DownAtCommit", func(t *testing.T) {
		for _, u := range users {
			// The node dies just before the commit's script goes out and
			// comes back half a second later, while a locked write is
			// still being settled.
			var (
				returned time.Time
				startErr error
			)
			started := make(chan struct{})
			kill := func() {
				victim.kill(t)
				time.AfterFunc(500*time.Millisecond, func() {
					startErr = victim.startErr()
					returned = time.Now()
					close(started)
				})
			}
			killer.armed.Store(&kill)
			code := u.inc(t)
			if killer.armed.Load() != nil {
				t.Fatalf("%s: /inc = %d without reaching the commit", u.name, code)
			}
			<-started
			if startErr != nil {
				t.Fatal(startErr)
			}
			if code != http.StatusServiceUnavailable {
				t.Fatalf("%s: /inc whose commit met a dead node = %d, want 503", u.name, code)
			}
			if u.app.checkErrors(t) == 0 {
				t.Fatalf("%s: no store error recorded", u.name)
			}
			report(t, "down at commit ("+u.name+")", []*clusterUser{u}, 1, func() time.Time { return returned })
		}
	})

	t.Run("Stalled", func(t *testing.T) {
		p := victim.cmd.Process
		if err := p.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Signal(syscall.SIGCONT) })
		stallEnd := time.Now().Add(3 * time.Second)
		tried := 0
		for time.Now().Before(stallEnd) {
			for _, u := range users {
				if code := u.inc(t); code != http.StatusServiceUnavailable {
					t.Fatalf("%s: /inc with its node stalled = %d, want 503", u.name, code)
				}
			}
			tried++
		}
		for _, u := range users {
			if u.app.checkErrors(t) == 0 {
				t.Fatalf("%s: no store error recorded", u.name)
			}
		}
		report(t, "stalled 3 s", users, tried, func() time.Time {
			if err := p.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			return time.Now()
		})
	})

	t.Run("KilledMidRequest", func(t *testing.T) {
		for round := range 3 {
			var (
				wg    sync.WaitGroup
				tries = make([]int, len(users))
				stop  atomic.Bool
			)
			for i, u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; n < 200 && !stop.Load(); n++ {
						code, body, err := storetest.Get(u.br, u.app.URL+"/inc")
						if err != nil || (code != http.StatusOK && code != http.StatusServiceUnavailable) {
							t.Errorf("%s: /inc = %d %q %v", u.name, code, body, err)
							return
						}
						tries[i]++
						if code == http.StatusOK {
							v, _ := strconv.Atoi(body)
							if v <= u.acked {
								t.Errorf("%s: /inc answered %d after %d was acknowledged", u.name, v, u.acked)
								return
							}
							u.acked = v
						}
					}
				}()
			}
			time.Sleep(100 * time.Millisecond) // requests in flight
			victim.kill(t)
			time.Sleep(200 * time.Millisecond)
			stop.Store(true)
			wg.Wait()
			if t.Failed() {
				return
			}
			for _, u := range users {
				u.app.checkErrors(t)
			}
			report(t, fmt.Sprintf("killed mid-request, round %d", round+1), users, max(tries[0], tries[1]), start)
		}
	})

	t.Run("Restarted", func(t *testing.T) {
		before := make([]int, len(users))
		for i, u := range users {
			before[i] = u.acked
		}
		report(t, "restarted", users, 0, func() time.Time {
			victim.term(t)
			return start()
		})
		for i, u := range users {
			// wantClean added one increment; nothing else changed.
			if u.acked != before[i]+1 {
				t.Fatalf("%s: count %d after a restart, want %d", u.name, u.acked, before[i]+1)
			}
		}
	})
}

// recoveryLog collects the recovery times of the Cluster fault tests.
type recoveryLog struct {
	mu    sync.Mutex
	lines []string
	worst time.Duration
}

func (r *recoveryLog) add(what string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf("%s %v", what, d.Round(time.Millisecond)))
	r.worst = max(r.worst, d)
}

func (r *recoveryLog) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("recovery after the node's return: %s; worst %v", strings.Join(r.lines, ", "), r.worst.Round(time.Millisecond))
}
