package redisstore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// holdSender makes s queue releases without sending them until the
// returned func is called (as if the sender were busy with a long
// pipeline), so a test can act in the window between Unlock and the
// release reaching Redis.
func holdSender(s *Store) (resume func()) {
	r := &s.releaser
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		panic("holdSender: a sender is running")
	}
	r.running = true
	idle := make(chan struct{})
	r.idle = idle
	return func() { go s.sendReleases(idle) }
}

// TestUnlockAfterRead: the Unlock of a lock whose holder only read returns
// before the release reaches Redis; the release follows, and then the lock
// is free for anyone.
func TestUnlockAfterRead(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			c := b.client(t)
			s := newStore(t, c, b.opts)
			id := storetest.NewID(t)
			l := mustLock(ctx, t, s, id)
			resume := holdSender(s)
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			if n := c.Exists(ctx, s.lockKey(id)).Val(); n != 1 {
				t.Fatal("the lock is gone although its release was held back")
			}
			resume()
			s.releasesSent()
			if n := c.Exists(ctx, s.lockKey(id)).Val(); n != 0 {
				t.Fatal("the lock is still held after its release was sent")
			}
		})
	}
}

// TestTakeOverPendingRelease: while a read-only holder's release is still
// queued, a Lock of the same session by the same store takes the lock at
// once (its first attempt), the release that arrives later leaves the new
// holder's lock alone, and a Lock by another store (another app server)
// still finds the session locked until a holder releases it.
func TestTakeOverPendingRelease(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			c := b.client(t)
			attempts := &lockAttempts{} // before anything uses c: AddHook is not safe alongside commands
			c.AddHook(attempts)
			s, other := twoStores(t, c, b.opts)
			id := storetest.NewID(t)
			if err := s.Write(ctx, id, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			old := mustLock(ctx, t, s, id)
			resume := holdSender(s)
			if err := old.Unlock(ctx); err != nil {
				t.Fatal(err)
			}

			// Another app server has no release of its own to take over:
			// it waits, and gives up when its context ends.
			octx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			_, err := other.Lock(octx, id)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("another store's Lock while the release is pending = %v, want a deadline error", err)
			}

			attempts.on.Store(true)
			l := mustLock(ctx, t, s, id)
			attempts.on.Store(false)
			if n := attempts.n.Load(); n != 1 {
				t.Fatalf("taking over a pending release took %d lock attempts, want 1", n)
			}
			newToken := l.(*lock).token
			if got := c.Get(ctx, s.lockKey(id)).Val(); got != newToken {
				t.Fatalf("lock key holds %q, want the new holder's token", got)
			}
			data, found, err := l.(core.LockedReader).Read(ctx)
			if err != nil || !found || string(data) != "v1" {
				t.Fatalf("Read after the take-over = %q, %v, %v; want v1", data, found, err)
			}

			resume()
			s.releasesSent() // the old release arrives: compare-and-delete finds the new token
			if got := c.Get(ctx, s.lockKey(id)).Val(); got != newToken {
				t.Fatalf("after the old release arrived the lock key holds %q, want the new holder's token", got)
			}
			if err := l.(core.LockedWriter).Write(ctx, []byte("v2"), time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("the new holder's Write: %v", err)
			}
			wantRecord(ctx, t, s, id, "v2")
			ol := mustLock(ctx, t, other, id) // free again, for everyone
			if err := ol.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// lockAttempts is a go-redis hook counting lock script runs while on.
type lockAttempts struct {
	on atomic.Bool
	n  atomic.Int64
}

func (h *lockAttempts) count(cmds ...redis.Cmder) {
	if !h.on.Load() {
		return
	}
	for _, c := range cmds {
		args := c.Args()
		if len(args) < 2 || (c.Name() != "evalsha" && c.Name() != "eval") {
			continue
		}
		switch args[1] {
		case lockScript.Hash(), lockOnlyScript.Hash():
			h.n.Add(1)
		}
	}
}

func (h *lockAttempts) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *lockAttempts) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(cmd)
		return next(ctx, cmd)
	}
}

func (h *lockAttempts) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.count(cmds...)
		return next(ctx, cmds)
	}
}

// TestCloseSendsReleases: Close sends the queued releases before it
// returns, and from then on Unlock releases before it returns.
func TestCloseSendsReleases(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			c := b.client(t)
			s := newStore(t, c, b.opts)
			ids := []string{storetest.NewID(t), storetest.NewID(t), storetest.NewID(t)}
			for _, id := range ids {
				if err := mustLock(ctx, t, s, id).Unlock(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if n := c.Exists(ctx, s.lockKey(id)).Val(); n != 0 {
					t.Fatal("a lock is still held after Close")
				}
			}
			l := mustLock(ctx, t, s, ids[0])
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			if n := c.Exists(ctx, s.lockKey(ids[0])).Val(); n != 0 {
				t.Fatal("after Close, Unlock returned before the lock was released")
			}
		})
	}
}

// TestReleaseWhileRedisDown: a queued release that cannot be sent — Redis
// went down between the response and the release — is not forgotten: the
// lock is free soon after Redis is back (appendonly keeps the lock across
// the restart), not LockTTL later.
func TestReleaseWhileRedisDown(t *testing.T) {
	srv := startRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.addr, DialTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond, ContextTimeoutEnabled: true, MaxRetries: 1})
	t.Cleanup(func() { c.Close() })
	ping(t, c)
	ctx := storetest.Context(t)
	s := newStore(t, c, Options{})
	id := storetest.NewID(t)
	l := mustLock(ctx, t, s, id)
	resume := holdSender(s)
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	srv.stop(t)
	resume()
	s.releasesSent() // the pipeline fails: no connection
	srv.start(t)
	back := time.Now()
	eventually(t, "the lock is released after Redis came back", func() bool {
		return c.Exists(ctx, s.lockKey(id)).Val() == 0
	})
	t.Logf("the lock was free %v after Redis came back", time.Since(back).Round(time.Millisecond))
}

// TestWriteAfterUnlock: a holder that unlocked without writing cannot write
// through its lock any more, on every layout — also while its release is
// still on the way and the lock still holds its token.
func TestWriteAfterUnlock(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			s := newStore(t, b.client(t), b.opts)
			id := storetest.NewID(t)
			if err := s.Write(ctx, id, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			l := mustLock(ctx, t, s, id)
			resume := holdSender(s)
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			err := l.(core.LockedWriter).Write(ctx, []byte("late"), time.Now().Add(time.Hour))
			resume()
			if !errors.Is(err, core.ErrLockLost) {
				t.Fatalf("Write after Unlock = %v, want ErrLockLost", err)
			}
			wantRecord(ctx, t, s, id, "v1")
		})
	}
}
