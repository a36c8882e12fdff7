package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net"
	"os"
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

// The fault tests: a lock attempt or a locked write whose reply is lost
// must leave no lock behind, and a write must report exactly what happened
// — nil when it applied, an error when it did not and never will.

// errLostReply is what a client sees when a reply does not come back in
// time: a network timeout.
var errLostReply = &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}

// A fault decides what the caller of one script call sees. next sends the
// command to the server.
type fault func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error

// replyLost lets the server run the command, then drops the reply: the
// command applied, the caller sees a timeout.
func replyLost(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
	_ = next(ctx, cmd)
	cmd.SetErr(errLostReply)
	return errLostReply
}

// resent sends the command twice, as go-redis does when the first reply
// times out, and hands the caller the second reply.
func resent(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
	_ = next(ctx, cmd)
	return next(ctx, cmd)
}

// held keeps the command back — it has not reached the server yet — and
// reports a timeout; deliver sends it later.
type held struct {
	mu   sync.Mutex
	args []any
}

func (h *held) fault(_ context.Context, cmd redis.Cmder, _ redis.ProcessHook) error {
	h.mu.Lock()
	h.args = cmd.Args()
	h.mu.Unlock()
	cmd.SetErr(errLostReply)
	return errLostReply
}

// arg returns the held command's argument i.
func (h *held) arg(i int) any {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i >= len(h.args) {
		return nil
	}
	return h.args[i]
}

// deliver sends the held command through c, late, and returns its reply.
func (h *held) deliver(ctx context.Context, t *testing.T, c redis.UniversalClient) any {
	t.Helper()
	h.mu.Lock()
	args := h.args
	h.mu.Unlock()
	if args == nil {
		t.Fatal("no command was held back")
	}
	v, err := c.Do(ctx, args...).Result()
	if err != nil {
		t.Fatalf("late delivery: %v", err)
	}
	return v
}

// faultHook applies faults to the calls of chosen scripts, each fault to
// one call only (the first call of its script after it was armed); every
// other command passes through.
type faultHook struct {
	mu    sync.Mutex
	armed map[string]fault // by script SHA-1
}

func (h *faultHook) arm(s *redis.Script, f fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.armed == nil {
		h.armed = map[string]fault{}
	}
	h.armed[s.Hash()] = f
}

// take returns and disarms the fault for cmd, if it is a call of an armed
// script (EVALSHA, or EVAL after NOSCRIPT).
func (h *faultHook) take(cmd redis.Cmder) fault {
	args := cmd.Args()
	if len(args) < 2 {
		return nil
	}
	var sha string
	switch strings.ToLower(cmd.Name()) {
	case "evalsha":
		sha, _ = args[1].(string)
	case "eval":
		src, _ := args[1].(string)
		sum := sha1.Sum([]byte(src))
		sha = hex.EncodeToString(sum[:])
	default:
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.armed[sha]
	delete(h.armed, sha)
	return f
}

func (h *faultHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *faultHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f := h.take(cmd); f != nil {
			return f(ctx, cmd, next)
		}
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook drops a whole pipeline that carries a call of an
// armed script, unsent, as a connection that breaks before anything is
// written: every command in it fails with errLostReply.
func (h *faultHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		armed := false
		for _, c := range cmds {
			if h.take(c) != nil {
				armed = true
			}
		}
		if !armed {
			return next(ctx, cmds)
		}
		for _, c := range cmds {
			c.SetErr(errLostReply)
		}
		return errLostReply
	}
}

// faultBackends are the layouts whose lock and write are one script each.
func faultBackends() []backend {
	var out []backend
	for _, b := range backends() {
		if b.name != "ClusterPHPLayout" {
			out = append(out, b)
		}
	}
	return out
}

// hooked returns a store with a fault hook on its own client, and a plain
// client of the same Redis with which the test looks and delivers late.
func hooked(t *testing.T, b backend) (*Store, *faultHook, redis.UniversalClient) {
	t.Helper()
	c := b.client(t)
	plain := b.client(t)
	loadScripts(t, plain)
	h := &faultHook{}
	c.AddHook(h)
	s := newStore(t, c, b.opts)
	return s, h, plain
}

// loadScripts loads the store's scripts on every node of c, so that a
// fault armed on an EVALSHA hits the script and not a NOSCRIPT answer (a
// fresh server, or a Cluster node, does not know them yet).
func loadScripts(t *testing.T, c redis.UniversalClient) {
	t.Helper()
	ctx := storetest.Context(t)
	load := func(ctx context.Context, n *redis.Client) error {
		for _, s := range []*redis.Script{lockScript, lockOnlyScript, writeScript, settleScript, releaseScript, swapScript, swapSettleScript} {
			if err := s.Load(ctx, n).Err(); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	switch cc := c.(type) {
	case *redis.ClusterClient:
		err = cc.ForEachShard(ctx, load)
	case *redis.Client:
		err = load(ctx, cc)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// lockState returns who holds id's lock: "" for nobody.
func lockState(ctx context.Context, t *testing.T, c redis.UniversalClient, s *Store, id string) string {
	t.Helper()
	v, err := c.Get(ctx, s.lockKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// lockAtOnce takes id's lock, which must be free: it fails the test if
// that takes longer than a second.
func lockAtOnce(ctx context.Context, t *testing.T, s *Store, id string) core.Lock {
	t.Helper()
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	l, err := s.Lock(short, id)
	if err != nil {
		t.Fatalf("Lock of a session nobody holds: %v", err)
	}
	return l
}

// TestLockReplyLost: a lock attempt whose reply is lost — after the
// server took the lock, or before the attempt even reached it — leaves no
// lock behind, and a resent attempt counts as the same attempt.
func TestLockReplyLost(t *testing.T) {
	for _, b := range faultBackends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			s, h, plain := hooked(t, b)
			fresh := newStore(t, plain, s.opts)

			t.Run("AppliedThenLost", func(t *testing.T) {
				id := storetest.NewID(t)
				h.arm(lockScript, replyLost)
				if l, err := s.Lock(ctx, id); err == nil {
					t.Fatalf("Lock whose reply was lost = %v, nil; want an error", l)
				}
				// The store releases it in the background, at once.
				eventually(t, "the lost attempt's lock is released", func() bool {
					return lockState(ctx, t, plain, s, id) == ""
				})
				lockAtOnce(ctx, t, fresh, id).Unlock(ctx)
			})

			t.Run("Resent", func(t *testing.T) {
				id := storetest.NewID(t)
				h.arm(lockScript, resent)
				l := lockAtOnce(ctx, t, s, id)
				if holder := lockState(ctx, t, plain, s, id); holder != l.(*lock).token {
					t.Fatal("the lock does not hold the attempt's token")
				}
				if err := l.(core.LockedWriter).Write(ctx, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				wantRecord(ctx, t, s, id, "v1")
			})

			t.Run("DeliveredLate", func(t *testing.T) {
				id := storetest.NewID(t)
				var late held
				h.arm(lockScript, late.fault)
				if _, err := s.Lock(ctx, id); err == nil {
					t.Fatal("Lock whose attempt never arrived succeeded")
				}
				// EVALSHA sha 3 lockKey dataKey fenceKey token ttl
				fence, _ := late.arg(5).(string)
				eventually(t, "the attempt is settled", func() bool {
					return plain.Exists(ctx, fence).Val() == 1
				})
				// The attempt reaches the server after it was settled.
				if v := late.deliver(ctx, t, plain); !isLockRefusal(v) {
					t.Fatalf("late attempt answered %v, want {0}", v)
				}
				if holder := lockState(ctx, t, plain, s, id); holder != "" {
					t.Fatal("the late attempt took the lock")
				}
				lockAtOnce(ctx, t, fresh, id).Unlock(ctx)
			})
		})
	}
}

// eventually waits up to two seconds for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("after two seconds, still not: %s", what)
}

func isLockRefusal(v any) bool {
	res, ok := v.([]any)
	return ok && len(res) == 1 && res[0] == int64(0)
}

// TestLockedWriteReplyLost: a locked write whose reply is lost reports
// what happened. Applied: nil, the data is there, the lock is free.
// Resent by the client: still nil, not "lock lost". Never arrived: an
// error, the data is not there, the lock is free, and the write no longer
// applies when it arrives late. Nobody answers: an error that says the
// outcome is unknown.
func TestLockedWriteReplyLost(t *testing.T) {
	for _, b := range faultBackends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			s, h, plain := hooked(t, b)
			exp := time.Now().Add(time.Hour)
			setup := func(t *testing.T) (string, core.Lock) {
				id := storetest.NewID(t)
				if err := s.Write(ctx, id, []byte("old"), exp); err != nil {
					t.Fatal(err)
				}
				return id, mustLock(ctx, t, s, id)
			}
			wantFree := func(t *testing.T, id string, l core.Lock) {
				t.Helper()
				if err := l.Unlock(ctx); err != nil {
					t.Fatalf("Unlock: %v", err)
				}
				if holder := lockState(ctx, t, plain, s, id); holder != "" {
					t.Fatal("the lock is still held")
				}
			}

			t.Run("AppliedThenLost", func(t *testing.T) {
				id, l := setup(t)
				h.arm(writeScript, replyLost)
				if err := l.(core.LockedWriter).Write(ctx, []byte("new"), exp); err != nil {
					t.Fatalf("Write that applied but lost its reply: %v, want nil", err)
				}
				wantRecord(ctx, t, s, id, "new")
				wantFree(t, id, l)
			})

			t.Run("Resent", func(t *testing.T) {
				id, l := setup(t)
				h.arm(writeScript, resent)
				if err := l.(core.LockedWriter).Write(ctx, []byte("new"), exp); err != nil {
					t.Fatalf("Write resent by the client: %v, want nil", err)
				}
				wantRecord(ctx, t, s, id, "new")
				wantFree(t, id, l)
			})

			t.Run("DeliveredLate", func(t *testing.T) {
				id, l := setup(t)
				var late held
				h.arm(writeScript, late.fault)
				err := l.(core.LockedWriter).Write(ctx, []byte("new"), exp)
				if err == nil || errors.Is(err, core.ErrLockLost) || strings.Contains(err.Error(), "unknown") {
					t.Fatalf("Write that never arrived: %v, want the transport's error", err)
				}
				wantRecord(ctx, t, s, id, "old")
				if holder := lockState(ctx, t, plain, s, id); holder != "" {
					t.Fatal("a write that did not apply left the lock held")
				}
				if v := late.deliver(ctx, t, plain); v != int64(0) {
					t.Fatalf("late write answered %v, want 0", v)
				}
				wantRecord(ctx, t, s, id, "old")
				wantFree(t, id, l)
			})

			t.Run("NoAnswer", func(t *testing.T) {
				id, l := setup(t)
				var late, lateSettle held
				h.arm(writeScript, late.fault)
				h.arm(settleScript, lateSettle.fault)
				s.settleTimeout = 0 // one question only
				t.Cleanup(func() { s.settleTimeout = defaultSettleTimeout })
				err := l.(core.LockedWriter).Write(ctx, []byte("new"), exp)
				if err == nil || !strings.Contains(err.Error(), "outcome unknown") {
					t.Fatalf("Write with no answer at all: %v, want an outcome-unknown error", err)
				}
				// Once Redis answers again, the store finishes it in the
				// background: the lock is released, and the write can no
				// longer apply.
				eventually(t, "the lock of the unsettled write is released", func() bool {
					return lockState(ctx, t, plain, s, id) == ""
				})
				if v := late.deliver(ctx, t, plain); v != int64(0) {
					t.Fatalf("late write answered %v, want 0", v)
				}
				wantRecord(ctx, t, s, id, "old")
				wantFree(t, id, l)
			})
		})
	}
}

// TestUnlockNoAnswer: an Unlock that Redis does not answer reports its
// error, and the store releases the lock in the background.
func TestUnlockNoAnswer(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			s, h, plain := hooked(t, b)

			// A request that only read: Unlock queues the release and
			// succeeds; the release pipeline gets no answer, and the
			// store goes on releasing in the background.
			id := storetest.NewID(t)
			l := mustLock(ctx, t, s, id)
			h.arm(releaseScript, replyLost) // on a pipeline: dropped unsent
			if err := l.Unlock(ctx); err != nil {
				t.Fatalf("Unlock of a read-only holder: %v, want nil (the release is sent later)", err)
			}
			eventually(t, "the lock is released after its release got no answer", func() bool {
				return lockState(ctx, t, plain, s, id) == ""
			})

			// After Close, Unlock releases synchronously and reports what
			// Redis did not answer.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			id = storetest.NewID(t)
			l = mustLock(ctx, t, s, id)
			var late held
			h.arm(releaseScript, late.fault)
			if err := l.Unlock(ctx); err == nil {
				t.Fatal("Unlock that got no answer reported success")
			}
			eventually(t, "the lock is released", func() bool {
				return lockState(ctx, t, plain, s, id) == ""
			})
		})
	}
}

// TestSplitLayoutReplyLost covers a Cluster without hash tags, whose lock
// and write are separate commands: a resent lock attempt still counts, and
// a SET whose reply is lost is found applied by reading the record back.
func TestSplitLayoutReplyLost(t *testing.T) {
	ctx := storetest.Context(t)
	c := clusterClient(t)
	h, setLost := &faultHook{}, &setHook{}
	c.AddHook(h)
	c.AddHook(setLost)
	plain := clusterClient(t)
	s := newStore(t, c, Options{NoHashTag: true})
	id := storetest.NewID(t)

	h.arm(lockOnlyScript, resent)
	l := lockAtOnce(ctx, t, s, id)
	setLost.armed.Store(true)
	if err := l.(core.LockedWriter).Write(ctx, []byte("new"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("SET that applied but lost its reply: %v, want nil", err)
	}
	wantRecord(ctx, t, s, id, "new")
	s.releasesSent()
	if holder := lockState(ctx, t, plain, s, id); holder != "" {
		t.Fatal("the lock is still held")
	}
}

// setHook drops the reply of the next SET once armed.
type setHook struct {
	armed atomic.Bool
}

func (h *setHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *setHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.EqualFold(cmd.Name(), "set") && h.armed.CompareAndSwap(true, false) {
			return replyLost(ctx, cmd, next)
		}
		return next(ctx, cmd)
	}
}

func (h *setHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// stallClient returns a client of srv with timeouts far below the stalls
// the tests inject, and go-redis' default of three retries.
func stallClient(t *testing.T, srv *redisServer) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                  srv.addr,
		DialTimeout:           250 * time.Millisecond,
		ReadTimeout:           250 * time.Millisecond,
		WriteTimeout:          250 * time.Millisecond,
		ContextTimeoutEnabled: true,
		PoolSize:              64,
	})
	t.Cleanup(func() { c.Close() })
	ping(t, c)
	// A stalled EVALSHA of a script the server does not know yet would
	// run into NOSCRIPT when the server resumes, and apply nothing; a
	// server that has run the store before knows them all.
	ctx := storetest.Context(t)
	for _, s := range []*redis.Script{lockScript, lockOnlyScript, writeScript, settleScript, releaseScript, swapScript, swapSettleScript} {
		if err := s.Load(ctx, c).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// stall stops srv (SIGSTOP) until the returned function resumes it; the
// server is resumed when t ends in any case.
func stall(t *testing.T, srv *redisServer) (resume func()) {
	t.Helper()
	p := srv.cmd.Process
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	resume = func() {
		once.Do(func() {
			if err := p.Signal(syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT: %v", err)
			}
		})
	}
	t.Cleanup(resume)
	return resume
}

// TestStalledServerLeavesNoLocks stalls a Redis (SIGSTOP) for five seconds,
// far longer than the client's read timeout and its retries, while
// requests take session locks: some give up during the stall, some are
// still trying when it ends. Once Redis is back, a new request for each of
// those sessions gets its lock within a second — no lock taken by a
// retried or abandoned attempt blocks it for LockTTL.
func TestStalledServerLeavesNoLocks(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"HashTag", Options{}},
		{"PHPRedisLayout", Options{NoHashTag: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startRedis(t)
			c := stallClient(t, srv)
			s := newStore(t, c, tt.opts)
			ctx := storetest.Context(t)
			const (
				sessions  = 10
				stallTime = 5 * time.Second
			)
			ids := make([]string, sessions)
			for i := range ids {
				ids[i] = storetest.NewID(t)
			}

			resume := stall(t, srv)
			var (
				wg          sync.WaitGroup
				mu          sync.Mutex
				got, gaveUp int
			)
			// One request per session, spread over the stall, each
			// waiting up to ten seconds for its lock as core does.
			for _, id := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					wait, cancel := context.WithTimeout(ctx, 10*time.Second)
					defer cancel()
					l, lerr := s.Lock(wait, id)
					mu.Lock()
					defer mu.Unlock()
					if lerr != nil {
						gaveUp++
						return
					}
					got++
					if uerr := l.Unlock(ctx); uerr != nil {
						t.Errorf("Unlock after the stall: %v", uerr)
					}
				}()
				time.Sleep(stallTime / sessions)
			}
			resume()
			resumed := time.Now()

			// New requests for the same sessions, right after Redis is back.
			var worst time.Duration
			for _, id := range ids {
				wait, cancel := context.WithTimeout(ctx, 10*time.Second)
				l, lerr := s.Lock(wait, id)
				cancel()
				if lerr != nil {
					t.Fatalf("Lock %v after Redis came back: %v", time.Since(resumed).Round(time.Millisecond), lerr)
				}
				worst = max(worst, time.Since(resumed))
				if err := l.Unlock(ctx); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			t.Logf("during the stall: %d requests got their lock, %d gave up; after it, every session locked within %v of Redis coming back",
				got, gaveUp, worst.Round(time.Millisecond))
			if worst > time.Second {
				t.Fatalf("a session stayed locked %v after Redis came back, want under a second", worst)
			}
			s.releasesSent()
			if keys := lockKeys(ctx, t, c, s); len(keys) != 0 {
				t.Fatalf("%d lock keys left behind: %v", len(keys), keys)
			}
		})
	}
}

// lockKeys returns the lock keys under s's prefix.
func lockKeys(ctx context.Context, t *testing.T, c *redis.Client, s *Store) []string {
	t.Helper()
	var (
		cursor uint64
		out    []string
	)
	for range 1000 {
		keys, next, err := c.Scan(ctx, cursor, globEscape(s.opts.KeyPrefix)+"*"+globEscape(s.opts.LockSuffix), 500).Result()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, keys...)
		if next == 0 {
			return out
		}
		cursor = next
	}
	t.Fatal("SCAN did not finish")
	return nil
}

// TestStalledServerLockedWrite stalls Redis (SIGSTOP) just before a locked
// write reaches it, so the write runs only when Redis resumes, after the
// client timed out: its reply is lost. Shorter than the client's retries,
// a retry finds the write applied; longer, the write is settled when
// Redis is back. Either way Write reports what happened, and nothing
// changes afterwards.
func TestStalledServerLockedWrite(t *testing.T) {
	tests := []struct {
		name      string
		stallTime time.Duration
		mustApply bool // a retry or the settling must find it applied
	}{
		{"ShorterThanRetries", 600 * time.Millisecond, true},
		{"LongerThanRetries", 3 * time.Second, false},
	}
	srv := startRedis(t)
	c := stallClient(t, srv)
	s := newStore(t, c, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			id := storetest.NewID(t)
			exp := time.Now().Add(time.Hour)
			if err := s.Write(ctx, id, []byte("old"), exp); err != nil {
				t.Fatal(err)
			}
			l := mustLock(ctx, t, s, id)
			resume := stall(t, srv)
			time.AfterFunc(tt.stallTime, resume)
			start := time.Now()
			err := l.(core.LockedWriter).Write(ctx, []byte("new"), exp)
			took := time.Since(start)
			resume()
			if err != nil && strings.Contains(err.Error(), "unknown") {
				t.Fatalf("Write after a %v stall: %v", tt.stallTime, err)
			}
			if tt.mustApply && err != nil {
				t.Fatalf("Write after a %v stall: %v, want nil", tt.stallTime, err)
			}
			want := "new"
			if err != nil {
				want = "old"
			}
			wantRecord(ctx, t, s, id, want)
			time.Sleep(300 * time.Millisecond) // nothing still queued may change it
			wantRecord(ctx, t, s, id, want)
			if uerr := l.Unlock(ctx); uerr != nil {
				t.Fatal(uerr)
			}
			if holder := lockState(ctx, t, c, s, id); holder != "" {
				t.Fatal("the lock is still held")
			}
			t.Logf("Write took %v and returned %v; the record holds %q", took.Round(time.Millisecond), err, want)
		})
	}
}
