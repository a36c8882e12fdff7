package redisstore

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// The Sentinel tests: a master fails over to its replica under load. Each
// test starts its own master, replica and three sentinels, since it kills
// the master; the Sentinel setup of scripts/services.sh serves the tests
// that leave it whole.

const (
	envSentinelAddrs  = "SESSIONKIT_REDIS_SENTINEL_ADDRS"
	envSentinelMaster = "SESSIONKIT_REDIS_SENTINEL_MASTER"
	sentinelMaster    = "sktest"
)

// sentinelSetup is one master, one replica and three sentinels (quorum 2)
// that declare the master down after a second.
type sentinelSetup struct {
	master, replica *node
	sentinels       []*node
}

func startSentinelSetup(t *testing.T) *sentinelSetup {
	t.Helper()
	ctx := storetest.Context(t)
	s := &sentinelSetup{}
	s.master = newNode(t, "--repl-diskless-sync-delay", "0")
	s.master.start(t)
	s.replica = newNode(t, "--replicaof", "127.0.0.1", strconv.Itoa(s.master.port))
	s.replica.start(t)
	// The sentinels learn of the replica from the master's INFO when they
	// connect: it must be attached by then.
	rc := s.replica.client(t)
	waitFor(t, 10*time.Second, "replicating", func() error {
		v, err := infoField(ctx, rc, "replication", "master_link_status")
		if err == nil && v != "up" {
			err = fmt.Errorf("master_link_status:%s", v)
		}
		return err
	})
	for range 3 {
		n := newNode(t, "--sentinel")
		n.conf = fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 2\n"+
			"sentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 5000\n"+
			"sentinel parallel-syncs %[1]s 1\n", sentinelMaster, s.master.port)
		n.start(t)
		s.sentinels = append(s.sentinels, n)
	}
	// A failover needs each sentinel to know the replica and the two
	// others (they meet on the master's hello channel every two seconds).
	for _, n := range s.sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: n.addr(), DialTimeout: 500 * time.Millisecond})
		waitFor(t, 15*time.Second, "a sentinel that knows the replica and both other sentinels", func() error {
			m, err := sc.Master(ctx, sentinelMaster).Result()
			if err != nil {
				return err
			}
			if m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" {
				return fmt.Errorf("num-slaves %s, num-other-sentinels %s", m["num-slaves"], m["num-other-sentinels"])
			}
			return nil
		})
		sc.Close()
	}
	return s
}

func (s *sentinelSetup) addrs() []string {
	var out []string
	for _, n := range s.sentinels {
		out = append(out, n.addr())
	}
	return out
}

// masterAddr returns the master's address as the first sentinel that
// answers sees it.
func (s *sentinelSetup) masterAddr(ctx context.Context) (string, error) {
	var err error
	for _, n := range s.sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: n.addr(), DialTimeout: 500 * time.Millisecond})
		var addr []string
		addr, err = sc.GetMasterAddrByName(ctx, sentinelMaster).Result()
		sc.Close()
		if err == nil && len(addr) == 2 {
			return addr[0] + ":" + addr[1], nil
		}
	}
	return "", err
}

// failoverClient returns a Sentinel client with short timeouts, closed
// with t.
func failoverClient(t testing.TB, master string, sentinels []string) *redis.Client {
	t.Helper()
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    master,
		SentinelAddrs: sentinels,
		// A dial asks a sentinel for the master first: a pool growing by
		// dozens of connections at once on a loaded machine needs more than
		// a quarter of a second. A dead master refuses at once anyway.
		DialTimeout: time.Second,
		// go-redis' defaults otherwise: a refused dial is tried five
		// times, 100 ms apart (DialerRetries), so after the kill requests
		// take ~1.7 s to get their 503. DialerRetries: 1 fails them at
		// once, but then the pool's dial errors pile up and it redials
		// only once a second: recovery measured ~0.9 s later.
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		ContextTimeoutEnabled: true,
		PoolSize:              64,
	})
	t.Cleanup(func() { c.Close() })
	ping(t, c)
	return c
}

// TestSentinelTwoAppServers runs two app servers over the Sentinel setup
// of scripts/services.sh, through a failover client, without failing it
// over: login, logout and locked increments as on a single node.
func TestSentinelTwoAppServers(t *testing.T) {
	addrs := strings.Split(storetest.RequireEnv(t, envSentinelAddrs), ",")
	c := failoverClient(t, storetest.RequireEnv(t, envSentinelMaster), addrs)
	for _, opts := range []Options{{}, {WaitReplicas: 1}} {
		t.Run(fmt.Sprintf("WaitReplicas=%d", opts.WaitReplicas), func(t *testing.T) {
			storetest.TwoAppServers(t, func(t *testing.T) (core.Store, core.Store) {
				return twoStores(t, c, opts)
			})
			s1, s2 := twoStores(t, c, opts)
			storetest.ConcurrentIncrements(t, 3, 50, s1, s2)
		})
	}
}

// failoverResult is what one failover under load showed.
type failoverResult struct {
	outage    time.Duration // first 503 to the first success after it
	tail      time.Duration // first 503 to the last 503
	sinceKill time.Duration // the kill to the first success after the outage
	// untilFirst503 is the kill to the first 503.
	untilFirst503 time.Duration
	lost          int // acknowledged increments missing afterwards
	requests      int
	failures      int // 503 answers
	conflicts     int // 409 answers
}

// TestSentinelFailover kills the master (SIGKILL) while eight users log
// in, increment and read their counters through a real HTTP server, with
// locking on and off, with and without WaitReplicas. Every answer must be
// 200, 409 or 503; a logged-in user never gets a 200 without their user
// (unless their login was lost without WaitReplicas, which is counted);
// after the sentinels promote the replica, requests recover without
// restarting anything; the killed node comes back as a replica. The test
// logs the outage (first 503 to the first success after it) and the
// acknowledged increments lost (Redis replicates asynchronously): with
// WaitReplicas there must be none.
func TestSentinelFailover(t *testing.T) {
	noLeaks(t)
	tests := []struct {
		locking, partition bool
		wait               int
	}{
		{false, false, 0},
		{true, false, 0},
		{true, true, 0},
		{false, true, 1},
		{true, true, 1},
	}
	for _, tt := range tests {
		locking, partition, wait := tt.locking, tt.partition, tt.wait
		{
			t.Run(fmt.Sprintf("Locking=%v/Partition=%v/WaitReplicas=%d", locking, partition, wait), func(t *testing.T) {
				t.Parallel()
				r := failover(t, locking, partition, wait)
				t.Logf("outage %v (first 503 %v after the kill, first success after it %v after the kill; last 503 %v after the first), %d acknowledged increments lost, %d requests (%d × 503, %d × 409)",
					r.outage.Round(time.Millisecond), r.untilFirst503.Round(time.Millisecond), r.sinceKill.Round(time.Millisecond), r.tail.Round(time.Millisecond), r.lost, r.requests, r.failures, r.conflicts)
				if wait > 0 && r.lost > 0 {
					t.Fatalf("%d acknowledged increments lost with WaitReplicas=%d, want none", r.lost, wait)
				}
			})
		}
	}
}

// event is one answer the app server gave: when the request started
// and when its answer came.
type event struct {
	start, at time.Time
	code      int
}

// failover runs one failover under load. With partition, the replica
// loses its link to the master 200 ms before the master dies (the master
// drops the link while the replica is stalled, so it cannot reconnect):
// what the master acknowledged in between is on no replica.
func failover(t *testing.T, locking, partition bool, wait int) failoverResult {
	ctx := storetest.Context(t)
	setup := startSentinelSetup(t)
	c := failoverClient(t, sentinelMaster, setup.addrs())
	// A failover that loses writes can lose a lock's release too (the
	// new master still has the lock a request took and released on the
	// old one): that session then waits for LockTTL. Five seconds here,
	// to keep the test short.
	app := storetest.NewApp(t, newStore(t, c, Options{WaitReplicas: wait, LockTTL: 5 * time.Second}), locking)

	const users = 8
	var (
		mu       sync.Mutex
		events   []event
		res      failoverResult
		anon     int
		killedAt time.Time
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		// okAfter counts each user's successes after the new master
		// was elected; the load stops once every user has a few.
		okAfter  [users]int
		promoted bool
	)
	record := func(u int, start time.Time, code int) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, event{start, time.Now(), code})
		res.requests++
		switch code {
		case http.StatusServiceUnavailable:
			res.failures++
		case http.StatusConflict:
			res.conflicts++
		case http.StatusOK:
			if promoted {
				okAfter[u]++
			}
		}
	}
	// halt stops the load and waits for it; it also runs when the test
	// ends early, before the app server closes.
	var haltOnce sync.Once
	halt := func() {
		haltOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	t.Cleanup(halt)
	browsers := make([]*http.Client, users)
	acked := make([]int, users) // the highest count each user was told
	for u := range browsers {
		browsers[u] = storetest.NewBrowser(t)
		storetest.MustGet(t, browsers[u], app.URL+"/login", "ok")
	}
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := browsers[u]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := []string{"/inc", "/get", "/inc", "/whoami", "/inc", "/view"}[i%6]
				if i%25 == 24 {
					path = "/login" // a new ID for the same session
				}
				start := time.Now()
				code, body, err := storetest.Get(br, app.URL+path)
				if err != nil {
					t.Errorf("user %d: GET %s: %v", u, path, err)
					return
				}
				record(u, start, code)
				if code != http.StatusOK && code != http.StatusConflict && code != http.StatusServiceUnavailable {
					t.Errorf("user %d: GET %s = %d %q, want 200, 409 or 503", u, path, code, body)
					return
				}
				if code != http.StatusOK {
					time.Sleep(20 * time.Millisecond) // do not spin on an outage
					continue
				}
				mu.Lock()
				switch path {
				case "/whoami":
					if body != "alice" {
						anon++
					}
				case "/inc", "/get", "/view":
					v, err := strconv.Atoi(body)
					if err != nil {
						t.Errorf("user %d: GET %s = %q", u, path, body)
					}
					seen := v // the count the request read
					if path == "/inc" {
						seen = v - 1
					}
					if seen < acked[u] {
						res.lost += acked[u] - seen
					}
					// An increment that got a 503 may have applied:
					// the count may also have grown.
					acked[u] = v
				}
				mu.Unlock()
			}
		}()
	}

	time.Sleep(500 * time.Millisecond) // load before the fault
	old := setup.master.addr()
	if partition {
		rp := setup.replica.cmd.Process
		if err := rp.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rp.Signal(syscall.SIGCONT) })
		if err := setup.master.client(t).ClientKillByFilter(ctx, "type", "replica").Err(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	setup.master.kill(t)
	if partition {
		if err := setup.replica.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
	}

	// The sentinels promote the replica.
	waitFor(t, 30*time.Second, "failed over", func() error {
		addr, err := setup.masterAddr(ctx)
		if err == nil && addr == old {
			err = fmt.Errorf("the master is still %s", addr)
		}
		return err
	})
	electedAfter := time.Since(killedAt)
	mu.Lock()
	promoted = true
	mu.Unlock()
	// The killed node comes back as a replica of the new master, as an
	// operator or an orchestrator restarts it; with WaitReplicas it is what
	// makes writes acknowledged again.
	setup.master.args = []string{"--replicaof", "127.0.0.1", strconv.Itoa(setup.replica.port)}
	setup.master.start(t)

	recovered := false
	for range 600 { // 30 s
		mu.Lock()
		recovered = slices.Min(okAfter[:]) >= 5
		mu.Unlock()
		if recovered || t.Failed() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	halt()
	if !recovered {
		t.Fatalf("requests did not recover within 30 s of the failover: successes per user after it %v", okAfter)
	}

	// Every user's counter is what they were last told, and every user
	// is still logged in (checked below: a lost login is an acknowledged
	// write lost too).
	for u, br := range browsers {
		got, _ := strconv.Atoi(storetest.MustGet(t, br, app.URL+"/get", ""))
		if got < acked[u] {
			res.lost += acked[u] - got
		}
		if storetest.MustGet(t, br, app.URL+"/whoami", "") != "alice" {
			anon++
		}
	}

	// The outage: from the first 503 to the first success of a request
	// that started after it (a request Redis answered before the kill may
	// be recorded after another's 503). Events are in the order recorded.
	var first503, firstOK, last503 time.Time
	for _, e := range events {
		switch {
		case e.code == http.StatusServiceUnavailable:
			if first503.IsZero() {
				first503 = e.at
			}
			last503 = e.at
		case e.code == http.StatusOK && !first503.IsZero() && firstOK.IsZero() && e.start.After(first503):
			firstOK = e.at
		}
	}
	if first503.IsZero() || firstOK.IsZero() {
		t.Fatalf("no outage seen: first 503 %v, first success after it %v", first503, firstOK)
	}
	res.outage = firstOK.Sub(first503)
	res.tail = last503.Sub(first503)
	res.sinceKill = firstOK.Sub(killedAt)
	res.untilFirst503 = first503.Sub(killedAt)
	t.Logf("the sentinels elected a new master %v after the kill", electedAfter.Round(time.Millisecond))
	if anon > 0 {
		if wait > 0 {
			t.Fatalf("%d answers without the user for logged-in users, with WaitReplicas", anon)
		}
		t.Logf("%d answers without the user: a login acknowledged but lost in the failover (no WaitReplicas)", anon)
	}
	return res
}
