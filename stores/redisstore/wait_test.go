package redisstore

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// TestWaitReplicas: with WaitReplicas a write that the replica does not
// acknowledge — stalled (SIGSTOP), or absent — fails, every kind of write,
// so it is never acknowledged to a client; once the replica answers again,
// writes succeed without a restart. A master of the test's own with one
// replica.
func TestWaitReplicas(t *testing.T) {
	ctx := storetest.Context(t)
	master := newNode(t, "--repl-diskless-sync-delay", "0")
	master.start(t)
	replica := newNode(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	replica.start(t)
	mc := master.client(t)
	waitFor(t, 10*time.Second, "a replica online", func() error {
		v, err := infoField(ctx, mc, "replication", "slave0")
		if err == nil && !strings.Contains(v, "state=online") {
			err = errors.New("slave0:" + v)
		}
		return err
	})
	// A replica that just came online may take a moment to acknowledge
	// its first write (seen on a loaded machine): wait until it does.
	waitFor(t, 10*time.Second, "the replica acknowledging writes", func() error {
		cmds, err := mc.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "sktest:warmup", "1", time.Minute)
			p.Do(ctx, "wait", 1, 500)
			return nil
		})
		if err == nil {
			if n, _ := cmds[1].(*redis.Cmd).Int64(); n != 1 {
				err = errors.New("WAIT answered 0")
			}
		}
		return err
	})
	c := redis.NewClient(&redis.Options{Addr: master.addr(), DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: time.Second, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	lost := &pipelineReplyLost{}
	c.AddHook(lost)
	s := newStore(t, c, Options{WaitReplicas: 1}) // WaitTimeout 500 ms
	// Fresh scripts on a fresh server: NOSCRIPT is answered by loading them.
	exp := time.Now().Add(time.Hour)
	id := storetest.NewID(t)
	if ok, err := s.Swap(ctx, id, nil, []byte("v1"), exp); err != nil || !ok {
		t.Fatalf("Swap with the replica up = %v, %v", ok, err)
	}
	if err := s.Write(ctx, id, []byte("v2"), exp); err != nil {
		t.Fatalf("Write with the replica up: %v", err)
	}
	l := mustLock(ctx, t, s, id)
	if err := l.(core.LockedWriter).Write(ctx, []byte("v3"), exp); err != nil {
		t.Fatalf("locked Write with the replica up: %v", err)
	}
	rc := replica.client(t)
	if got, err := rc.Get(ctx, s.key(id)).Result(); err != nil || got != "v3" {
		t.Fatalf("the replica has %q, %v; want v3 (WAIT returned before it had it)", got, err)
	}
	// A locked write whose reply (and its WAIT's) is lost: settled as
	// applied, and acknowledged only once a replica confirms it.
	l = mustLock(ctx, t, s, id)
	lost.armed.Store(true)
	if err := l.(core.LockedWriter).Write(ctx, []byte("v3b"), exp); err != nil {
		t.Fatalf("locked Write that applied, reply lost, replica up: %v", err)
	}
	if got, err := rc.Get(ctx, s.key(id)).Result(); err != nil || got != "v3b" {
		t.Fatalf("the replica has %q, %v; want v3b", got, err)
	}

	// A user logged in before the replica stalls.
	app := storetest.NewApp(t, s, true)
	alice := storetest.NewBrowser(t)
	storetest.MustGet(t, alice, app.URL+"/login", "ok")

	p := replica.cmd.Process
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Signal(syscall.SIGCONT) })
	wantUnacked := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, errNotReplicated) {
			t.Fatalf("%s with the replica stalled: %v, want a not-acknowledged error", what, err)
		}
	}
	_, err := s.Swap(ctx, id, []byte("v3b"), []byte("v4"), exp)
	wantUnacked("Swap", err)
	wantUnacked("Write", s.Write(ctx, id, []byte("v5"), exp))
	l = mustLock(ctx, t, s, id)
	wantUnacked("locked Write", l.(core.LockedWriter).Write(ctx, []byte("v6"), exp))
	// The same holder puts back what it read, as the Manager does after a
	// forward that failed this way: accepted, since the record still holds
	// this holder's own (applied, unacknowledged) write.
	wantUnacked("the same holder's second locked Write", l.(core.LockedWriter).Write(ctx, []byte("v5"), exp))
	if got := mc.Get(ctx, s.key(id)).Val(); got != "v5" {
		t.Fatalf("the master has %q after the put-back, want v5", got)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	l = mustLock(ctx, t, s, id)
	lost.armed.Store(true)
	wantUnacked("locked Write whose reply was lost", l.(core.LockedWriter).Write(ctx, []byte("v6b"), exp))
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	// A Swap that did not apply wrote nothing: no error to report.
	if ok, err := s.Swap(ctx, id, []byte("other"), []byte("v7"), exp); ok || err != nil {
		t.Fatalf("Swap of a record that changed, replica stalled = %v, %v; want false, nil", ok, err)
	}
	wantUnacked("Destroy", s.Destroy(ctx, storetest.NewID(t)))

	// Through the middleware: 503, a store error.
	br := storetest.NewBrowser(t)
	if code, body, err := storetest.Get(br, app.URL+"/inc"); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("/inc with the replica stalled = %d %q %v, want 503", code, body, err)
	}
	// A new login (Regenerate) fails: 503, and it must not have logged
	// the user out — the master took the forward to the new ID, and the
	// Manager put the old record back in its place.
	if code, body, err := storetest.Get(alice, app.URL+"/login"); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("/login with the replica stalled = %d %q %v, want 503", code, body, err)
	}

	if err := p.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "writes acknowledged again", func() error {
		return s.Write(ctx, id, []byte("v8"), exp)
	})
	storetest.MustGet(t, br, app.URL+"/inc", "")
	storetest.MustGet(t, alice, app.URL+"/whoami", "alice")
}

// pipelineReplyLost lets the next pipeline run once armed, then drops all
// its replies: the commands applied, the caller sees a timeout.
type pipelineReplyLost struct {
	armed atomic.Bool
}

func (h *pipelineReplyLost) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *pipelineReplyLost) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *pipelineReplyLost) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !h.armed.CompareAndSwap(true, false) {
			return next(ctx, cmds)
		}
		_ = next(ctx, cmds)
		for _, c := range cmds {
			c.SetErr(errLostReply)
		}
		return errLostReply
	}
}
