package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// backend is one Redis deployment and key layout the tests run against.
type backend struct {
	name   string
	client func(t testing.TB) redis.UniversalClient
	opts   Options
}

func backends() []backend {
	single := func(t testing.TB) redis.UniversalClient { return singleClient(t) }
	cluster := func(t testing.TB) redis.UniversalClient { return clusterClient(t) }
	return []backend{
		{"Single", single, Options{}},
		{"SinglePHPLayout", single, Options{NoHashTag: true}},
		{"Cluster", cluster, Options{}},
		{"ClusterPHPLayout", cluster, Options{NoHashTag: true}},
	}
}

func TestNew(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer client.Close()
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}) // never dialled
	defer cluster.Close()
	tests := []struct {
		name    string
		client  redis.UniversalClient
		opts    Options
		wantErr bool
	}{
		{"Defaults", client, Options{}, false},
		{"PHPRedis", client, PHPRedis(), false},
		{"NilClient", nil, Options{}, true},
		{"BraceInPrefixWithHashTag", client, Options{KeyPrefix: "app{x}:"}, true},
		{"BraceInPrefixWithoutHashTag", client, Options{KeyPrefix: "app{x}:", NoHashTag: true}, false},
		{"NegativeLockTTL", client, Options{LockTTL: -time.Second}, true},
		{"SubMillisecondLockTTL", client, Options{LockTTL: time.Microsecond}, true},
		{"RetryMaxBelowRetry", client, Options{LockRetry: time.Second, LockRetryMax: time.Millisecond}, true},
		{"LockSuffixNamesOwnerKeys", client, Options{LockSuffix: ownerSuffix}, true},
		{"WaitReplicas", client, Options{WaitReplicas: 1}, false},
		{"NegativeWaitReplicas", client, Options{WaitReplicas: -1}, true},
		{"NegativeWaitTimeout", client, Options{WaitReplicas: 1, WaitTimeout: -time.Second}, true},
		{"WaitTimeoutNotBelowReadTimeout", client, Options{WaitReplicas: 1, WaitTimeout: 3 * time.Second}, true},
		{"WaitReplicasOnCluster", cluster, Options{WaitReplicas: 1}, true},
		{"ClusterWithoutWait", cluster, Options{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.client, tt.opts)
			if tt.wantErr {
				if !errors.Is(err, core.ErrConfig) {
					t.Fatalf("New: err = %v, want core.ErrConfig", err)
				}
				return
			}
			if err != nil || s == nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
	t.Run("DefaultsApplied", func(t *testing.T) {
		s, err := New(client, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := Options{KeyPrefix: DefaultKeyPrefix, LockSuffix: DefaultLockSuffix, LockTTL: DefaultLockTTL,
			LockRetry: DefaultLockRetry, LockRetryMax: DefaultLockRetryMax}
		if s.opts != want {
			t.Fatalf("options = %+v, want %+v", s.opts, want)
		}
		s, err = New(client, Options{WaitReplicas: 2})
		if err != nil {
			t.Fatal(err)
		}
		if s.opts.WaitTimeout != DefaultWaitTimeout {
			t.Fatalf("WaitTimeout = %v, want %v", s.opts.WaitTimeout, DefaultWaitTimeout)
		}
	})
}

// TestKeyLayout checks the names and TTLs of the keys in Redis, which PHP
// interop and Cluster slot placement depend on.
func TestKeyLayout(t *testing.T) {
	tests := []struct {
		name              string
		noHashTag         bool
		wantKey, wantLock string // with %s for the prefix and %[2]s for the id
	}{
		{"HashTag", false, "%s{%s}", "%s{%s}_LOCK"},
		{"PHPRedis", true, "%s%s", "%s%s_LOCK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			c := singleClient(t)
			s := newStore(t, c, Options{NoHashTag: tt.noHashTag, LockTTL: 20 * time.Second})
			id := storetest.NewID(t)
			key := fmt.Sprintf(tt.wantKey, s.opts.KeyPrefix, id)
			lockKey := fmt.Sprintf(tt.wantLock, s.opts.KeyPrefix, id)

			if err := s.Write(ctx, id, []byte("a|i:1;"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got, err := c.Get(ctx, key).Result(); err != nil || got != "a|i:1;" {
				t.Fatalf("GET %s = %q, %v", key, got, err)
			}
			if pttl := c.PTTL(ctx, key).Val(); pttl <= 59*time.Minute || pttl > time.Hour {
				t.Fatalf("PTTL = %v, want about an hour", pttl)
			}
			l, err := s.Lock(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if tok := c.Get(ctx, lockKey).Val(); len(tok) != 32 {
				t.Fatalf("lock key %s holds %q, want a 32-char token", lockKey, tok)
			}
			if pttl := c.PTTL(ctx, lockKey).Val(); pttl <= 0 || pttl > 20*time.Second {
				t.Fatalf("lock PTTL = %v, want (0, 20s]", pttl)
			}
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			s.releasesSent()
			if n := c.Exists(ctx, lockKey).Val(); n != 0 {
				t.Fatal("lock key still exists after Unlock")
			}
		})
	}
}

func TestTouch(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			c := b.client(t)
			s := newStore(t, c, b.opts)
			id := storetest.NewID(t)
			if err := s.Touch(ctx, id, time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("Touch of an absent id: %v", err)
			}
			if n := c.Exists(ctx, s.key(id)).Val(); n != 0 {
				t.Fatal("Touch created a record")
			}
			if err := s.Write(ctx, id, []byte("x"), time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := s.Touch(ctx, id, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if pttl := c.PTTL(ctx, s.key(id)).Val(); pttl <= 59*time.Minute {
				t.Fatalf("PTTL after Touch = %v, want about an hour", pttl)
			}
			if err := s.Touch(ctx, id, time.Now().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
			if _, found, err := s.Read(ctx, id); err != nil || found {
				t.Fatalf("Read after Touch into the past: found=%v err=%v, want absent", found, err)
			}
		})
	}
}

// TestLockedWrite walks a locked read-modify-write through the lock's Read
// and Write on every layout, including a second Write after the first one
// released the lock.
func TestLockedWrite(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			c := b.client(t)
			s := newStore(t, c, b.opts)
			id := storetest.NewID(t)
			if err := s.Write(ctx, id, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			l := mustLock(ctx, t, s, id)
			data, found, err := l.(core.LockedReader).Read(ctx)
			if err != nil || !found || string(data) != "v1" {
				t.Fatalf("locked Read = %q, %v, %v; want v1", data, found, err)
			}
			w := l.(core.LockedWriter)
			if err := w.Write(ctx, []byte("v2"), time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("locked Write: %v", err)
			}
			s.releasesSent() // the split layout's Write queues its release
			if n := c.Exists(ctx, s.lockKey(id)).Val(); n != 0 {
				t.Fatal("the lock is still held after the locked Write")
			}
			wantRecord(ctx, t, s, id, "v2")

			// A second commit of the same request, nobody else around.
			err = w.Write(ctx, []byte("v3"), time.Now().Add(time.Hour))
			if b.opts.NoHashTag && b.name == "ClusterPHPLayout" {
				// Lock and data live in different slots: the store cannot
				// prove nobody wrote in between, so it refuses.
				if !errors.Is(err, core.ErrLockLost) {
					t.Fatalf("second Write: %v, want ErrLockLost", err)
				}
				wantRecord(ctx, t, s, id, "v2")
			} else {
				if err != nil {
					t.Fatalf("second Write: %v", err)
				}
				wantRecord(ctx, t, s, id, "v3")
			}
			if err := l.Unlock(ctx); err != nil {
				t.Fatalf("Unlock after Write: %v", err)
			}

			// A new holder takes the lock: the old holder's further write
			// is refused and the new holder's data stays.
			l2 := mustLock(ctx, t, s, id)
			before, _, _ := s.Read(ctx, id)
			if err := w.Write(ctx, []byte("stale"), time.Now().Add(time.Hour)); !errors.Is(err, core.ErrLockLost) {
				t.Fatalf("write of a released holder while another holds the lock: %v, want ErrLockLost", err)
			}
			wantRecord(ctx, t, s, id, string(before))
			if err := l2.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestStaleHolder makes a lock vanish as if its TTL had run out while the
// holder still worked: the next request takes it, and the stale holder's
// write is refused, not applied.
func TestStaleHolder(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			c := b.client(t)
			s := newStore(t, c, b.opts)
			id := storetest.NewID(t)
			if err := s.Write(ctx, id, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			stale := mustLock(ctx, t, s, id)
			if err := c.Del(ctx, s.lockKey(id)).Err(); err != nil { // the TTL ran out
				t.Fatal(err)
			}
			fresh := mustLock(ctx, t, s, id)
			err := stale.(core.LockedWriter).Write(ctx, []byte("stale"), time.Now().Add(time.Hour))
			if !errors.Is(err, core.ErrLockLost) {
				t.Fatalf("stale Write: %v, want ErrLockLost", err)
			}
			if err := stale.Unlock(ctx); err != nil {
				t.Fatalf("stale Unlock: %v", err)
			}
			if n := c.Exists(ctx, s.lockKey(id)).Val(); n != 1 {
				t.Fatal("the stale holder's Unlock released the fresh holder's lock")
			}
			if err := fresh.(core.LockedWriter).Write(ctx, []byte("fresh"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			wantRecord(ctx, t, s, id, "fresh")

			// A lock nobody took after it expired: the holder's write is
			// still refused — another request may have come and gone.
			lone := mustLock(ctx, t, s, id)
			if err := c.Del(ctx, s.lockKey(id)).Err(); err != nil {
				t.Fatal(err)
			}
			err = lone.(core.LockedWriter).Write(ctx, []byte("late"), time.Now().Add(time.Hour))
			if !errors.Is(err, core.ErrLockLost) {
				t.Fatalf("Write after the lock expired: %v, want ErrLockLost", err)
			}
			wantRecord(ctx, t, s, id, "fresh")
		})
	}
}

// TestLockWaitsForContext checks that a contended Lock gives up when its
// context ends and reports the context's error.
func TestLockWaitsForContext(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			s := newStore(t, b.client(t), b.opts)
			id := storetest.NewID(t)
			held := mustLock(ctx, t, s, id)
			defer held.Unlock(ctx)
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			l, err := s.Lock(short, id)
			if !errors.Is(err, context.DeadlineExceeded) || l != nil {
				t.Fatalf("Lock on a held lock = %v, %v; want context.DeadlineExceeded", l, err)
			}
		})
	}
}

// TestLockSerialises has goroutines increment a counter under the lock,
// straight on the store: every increment survives.
func TestLockSerialises(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			s := newStore(t, b.client(t), b.opts)
			id := storetest.NewID(t)
			const n = 50
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- increment(ctx, s, id)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			wantRecord(ctx, t, s, id, fmt.Sprint(n))
		})
	}
}

// increment adds one to the decimal counter stored under id, under the lock.
func increment(ctx context.Context, s *Store, id string) error {
	l, err := s.Lock(ctx, id)
	if err != nil {
		return err
	}
	defer l.Unlock(ctx)
	data, _, err := l.(core.LockedReader).Read(ctx)
	if err != nil {
		return err
	}
	var v int
	if len(data) > 0 {
		if _, err := fmt.Sscan(string(data), &v); err != nil {
			return err
		}
	}
	return l.(core.LockedWriter).Write(ctx, []byte(fmt.Sprint(v+1)), time.Now().Add(time.Hour))
}

// TestServerDown points a store at a port nobody listens on: every method
// returns an error, none reports an absent session.
func TestServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	s, err := New(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := storetest.Context(t)
	id := storetest.NewID(t)
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name string
		call func() error
	}{
		{"Read", func() error { _, _, err := s.Read(ctx, id); return err }},
		{"Write", func() error { return s.Write(ctx, id, []byte("x"), exp) }},
		{"Destroy", func() error { return s.Destroy(ctx, id) }},
		{"Touch", func() error { return s.Touch(ctx, id, exp) }},
		{"Exists", func() error { _, err := s.Exists(ctx, id); return err }},
		{"Swap", func() error { _, err := s.Swap(ctx, id, nil, []byte("x"), exp); return err }},
		{"Lock", func() error { _, err := s.Lock(ctx, id); return err }},
		{"AddUserSession", func() error { return s.AddUserSession(ctx, "alice", id, exp) }},
		{"RemoveUserSession", func() error { return s.RemoveUserSession(ctx, "alice", id) }},
		{"UserSessions", func() error { _, err := s.UserSessions(ctx, "alice"); return err }},
		{"DeleteAll", func() error { _, err := s.DeleteAll(ctx); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Fatal("no error from a store whose server is down")
			}
		})
	}
}

func TestDeleteAll(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			c := b.client(t)
			s := newStore(t, c, b.opts)
			other := newStore(t, c, b.opts)
			const n = 25
			for i := 0; i < n; i++ {
				if err := s.Write(ctx, storetest.NewID(t), []byte("x"), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			l := mustLock(ctx, t, s, storetest.NewID(t)) // a lock key, no data
			keep := storetest.NewID(t)
			if err := other.Write(ctx, keep, []byte("keep"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			got, err := s.DeleteAll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != n+1 {
				t.Fatalf("DeleteAll removed %d keys, want %d", got, n+1)
			}
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			wantRecord(ctx, t, other, keep, "keep")
		})
	}
}

func TestGlobEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sessionkit:", "sessionkit:"},
		{"a*b?c[d]e\\f", `a\*b\?c\[d\]e\\f`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := globEscape(tt.in); got != tt.want {
				t.Fatalf("globEscape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func mustLock(ctx context.Context, t testing.TB, s *Store, id string) core.Lock {
	t.Helper()
	l, err := s.Lock(ctx, id)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	return l
}

func wantRecord(ctx context.Context, t testing.TB, s *Store, id, want string) {
	t.Helper()
	data, found, err := s.Read(ctx, id)
	if err != nil || !found || !bytes.Equal(data, []byte(want)) {
		t.Fatalf("Read = %q, found=%v, err=%v; want %q", data, found, err, want)
	}
}
