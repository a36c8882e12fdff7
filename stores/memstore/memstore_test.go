package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// memstore may not import core (core imports it), so its compile-time
// interface checks live here.
var (
	_ core.Store     = (*memstore.Store)(nil)
	_ core.Toucher   = (*memstore.Store)(nil)
	_ core.Exister   = (*memstore.Store)(nil)
	_ core.Collector = (*memstore.Store)(nil)
	_ core.Locker    = (*memstore.Store)(nil)
	_ core.Swapper   = (*memstore.Store)(nil)
	_ core.UserIndex = (*memstore.Store)(nil)
	_ io.Closer      = (*memstore.Store)(nil)
)

func TestConformance(t *testing.T) {
	const ttl = 300 * time.Millisecond
	tests := []struct {
		name string
		opts memstore.Options
		kit  []storetest.Option
		mk   func(memstore.Options) *memstore.Store
	}{
		{"Defaults", memstore.Options{}, nil, memstore.New},
		{"ShortLockTTL", memstore.Options{LockTTL: ttl}, []storetest.Option{storetest.LockTTL(ttl)}, memstore.New},
		{"OneShard", memstore.Options{Shards: 1, LockTTL: ttl}, []storetest.Option{storetest.LockTTL(ttl)}, memstore.New},
		// Every ID's hash collides: all but the first session of each
		// shard live in its spill map.
		{"Colliding", memstore.Options{LockTTL: ttl}, []storetest.Option{storetest.LockTTL(ttl)}, memstore.NewColliding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) core.Store {
				s := tt.mk(tt.opts)
				t.Cleanup(func() { s.Close() })
				return s
			}, tt.kit...)
		})
	}
}

// TestLockValue checks at run time what the unexported lock type offers.
func TestLockValue(t *testing.T) {
	s := memstore.New(memstore.Options{})
	defer s.Close()
	l, err := s.Lock(context.Background(), "lock-value-id-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(context.Background())
	if _, ok := l.(core.LockedReader); !ok {
		t.Error("the lock is not a core.LockedReader")
	}
	if _, ok := l.(core.LockedWriter); !ok {
		t.Error("the lock is not a core.LockedWriter")
	}
}

// clock is a settable time source for NewWithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// id returns the i-th test ID, 43 characters long like a default core ID.
func id(i int) string { return fmt.Sprintf("session-%035d", i) }

func mustRead(t *testing.T, s *memstore.Store, id string) ([]byte, bool) {
	t.Helper()
	data, found, err := s.Read(context.Background(), id)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return data, found
}

func TestExpiryBoundary(t *testing.T) {
	clk := newClock()
	s := memstore.NewWithClock(memstore.Options{}, clk.Now)
	ctx := context.Background()
	exp := clk.Now().Add(time.Minute)
	tests := []struct {
		name    string
		advance time.Duration
		found   bool
	}{
		{"Before", time.Minute - time.Nanosecond, true},
		{"AtExpiry", time.Nanosecond, false},
		{"After", time.Hour, false},
	}
	if err := s.Write(ctx, id(1), []byte("x"), exp); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			if _, found := mustRead(t, s, id(1)); found != tt.found {
				t.Fatalf("found = %v, want %v", found, tt.found)
			}
			if ok, _ := s.Exists(ctx, id(1)); ok != tt.found {
				t.Fatalf("Exists = %v, want %v", ok, tt.found)
			}
		})
	}
}

func TestZeroAndFarExpiry(t *testing.T) {
	s := memstore.New(memstore.Options{})
	ctx := context.Background()
	tests := []struct {
		name   string
		expiry time.Time
		found  bool
	}{
		{"ZeroTimeIsExpired", time.Time{}, false},
		{"FarFutureIsLive", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Write(ctx, id(i), []byte("x"), tt.expiry); err != nil {
				t.Fatal(err)
			}
			if _, found := mustRead(t, s, id(i)); found != tt.found {
				t.Fatalf("found = %v, want %v", found, tt.found)
			}
		})
	}
}

func TestTouchWithFakeClock(t *testing.T) {
	clk := newClock()
	s := memstore.NewWithClock(memstore.Options{}, clk.Now)
	ctx := context.Background()
	if err := s.Write(ctx, id(1), []byte("x"), clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, id(1), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Minute)
	if _, found := mustRead(t, s, id(1)); !found {
		t.Fatal("a touched record expired at its old expiry")
	}
	clk.Advance(30 * time.Minute)
	if _, found := mustRead(t, s, id(1)); found {
		t.Fatal("a touched record outlived its new expiry")
	}
	// Touching the expired record must not bring it back.
	if err := s.Touch(ctx, id(1), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, found := mustRead(t, s, id(1)); found {
		t.Fatal("Touch resurrected an expired record")
	}
}

func TestGCWithFakeClock(t *testing.T) {
	clk := newClock()
	s := memstore.NewWithClock(memstore.Options{Shards: 4, LockTTL: time.Hour}, clk.Now)
	ctx := context.Background()
	const n = 5000 // several sweep chunks per shard
	for i := 0; i < n; i++ {
		exp := clk.Now().Add(time.Minute)
		if i%2 == 1 {
			exp = clk.Now().Add(time.Hour)
		}
		if err := s.Write(ctx, id(i), []byte(strconv.Itoa(i)), exp); err != nil {
			t.Fatal(err)
		}
	}
	locked, err := s.Lock(ctx, id(0))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	removed, err := s.GC(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := n/2 - 1; removed != want {
		t.Fatalf("GC removed %d, want %d (every even record but the locked one)", removed, want)
	}
	for i := 1; i < n; i += 2 {
		if data, found := mustRead(t, s, id(i)); !found || string(data) != strconv.Itoa(i) {
			t.Fatalf("live record %d: found=%v data=%q", i, found, data)
		}
	}
	if err := locked.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.GC(ctx, clk.Now()); err != nil || removed != 1 {
		t.Fatalf("GC after Unlock = %d, %v; want the formerly locked record", removed, err)
	}
	if removed, err := s.GC(ctx, clk.Now()); err != nil || removed != 0 {
		t.Fatalf("second GC = %d, %v; want 0, nil", removed, err)
	}
}

// TestGCDropsDeadLocks checks that GC forgets a lock whose holder outlived
// its TTL, so the record it guarded can be collected.
func TestGCDropsDeadLocks(t *testing.T) {
	clk := newClock()
	s := memstore.NewWithClock(memstore.Options{LockTTL: time.Minute}, clk.Now)
	ctx := context.Background()
	if err := s.Write(ctx, id(1), []byte("x"), clk.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, id(1)); err != nil { // never unlocked: the holder "died"
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	if removed, _ := s.GC(ctx, clk.Now()); removed != 0 {
		t.Fatalf("GC removed %d records while the lock was live, want 0", removed)
	}
	clk.Advance(time.Minute)
	if removed, _ := s.GC(ctx, clk.Now()); removed != 1 {
		t.Fatalf("GC removed %d records after the lock's TTL, want 1", removed)
	}
}

// countdownCtx is a context whose Err turns into context.Canceled after a
// fixed number of calls, to stop GC in the middle of a sweep.
type countdownCtx struct {
	context.Context
	mu   sync.Mutex
	left int
}

func (c *countdownCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left <= 0 {
		return context.Canceled
	}
	c.left--
	return nil
}

func TestGCStopsWhenContextEnds(t *testing.T) {
	clk := newClock()
	s := memstore.NewWithClock(memstore.Options{Shards: 1}, clk.Now)
	ctx := context.Background()
	const n = 10000
	for i := 0; i < n; i++ {
		if err := s.Write(ctx, id(i), []byte("x"), clk.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
	removed, err := s.GC(&countdownCtx{Context: ctx, left: 3}, clk.Now())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("GC err = %v, want context.Canceled", err)
	}
	if removed <= 0 || removed >= n {
		t.Fatalf("GC removed %d before stopping, want part of %d", removed, n)
	}
	rest, err := s.GC(ctx, clk.Now())
	if err != nil || removed+rest != n {
		t.Fatalf("second GC = %d, %v; want the remaining %d", rest, err, n-removed)
	}
}

// TestGCConcurrentWithTraffic sweeps while writers and readers work on the
// same shards; under -race it checks the chunked sweep's locking, and it
// checks that no live record is lost.
func TestGCConcurrentWithTraffic(t *testing.T) {
	s := memstore.New(memstore.Options{Shards: 2})
	ctx := context.Background()
	const expired, workers, perWorker = 20000, 4, 500
	// The records are live by the clock but expired for a GC given cut.
	cut := time.Now().Add(time.Hour)
	for i := 0; i < expired; i++ {
		if err := s.Write(ctx, id(i), []byte("old"), cut.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errc := make(chan error, workers+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		removed, err := s.GC(ctx, cut)
		if err == nil && removed != expired {
			err = errors.New("GC removed " + strconv.Itoa(removed) + ", want " + strconv.Itoa(expired))
		}
		errc <- err
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				k := id(expired + w*perWorker + i)
				if err := s.Write(ctx, k, []byte("new"), cut.Add(time.Hour)); err != nil {
					errc <- err
					return
				}
				if _, found, err := s.Read(ctx, k); err != nil || !found {
					errc <- errors.New("a live record written during GC vanished")
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := expired; i < expired+workers*perWorker; i++ {
		if _, found := mustRead(t, s, id(i)); !found {
			t.Fatalf("live record %d lost", i)
		}
	}
}

func TestClose(t *testing.T) {
	s := memstore.New(memstore.Options{})
	ctx := context.Background()
	if err := s.Write(ctx, id(1), []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	held, err := s.Lock(ctx, id(2))
	if err != nil {
		t.Fatal(err)
	}
	waiter := make(chan error, 1)
	go func() {
		_, err := s.Lock(ctx, id(2)) // blocks until Close wakes it
		waiter <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waiter; !errors.Is(err, memstore.ErrClosed) {
		t.Fatalf("waiting Lock after Close: %v, want ErrClosed", err)
	}
	if err := held.Unlock(ctx); err != nil {
		t.Fatalf("Unlock after Close: %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	exp := time.Now().Add(time.Hour)
	calls := []struct {
		name string
		call func() error
	}{
		{"Read", func() error { _, _, err := s.Read(ctx, id(1)); return err }},
		{"Write", func() error { return s.Write(ctx, id(1), nil, exp) }},
		{"Destroy", func() error { return s.Destroy(ctx, id(1)) }},
		{"Touch", func() error { return s.Touch(ctx, id(1), exp) }},
		{"Exists", func() error { _, err := s.Exists(ctx, id(1)); return err }},
		{"Swap", func() error { _, err := s.Swap(ctx, id(1), nil, nil, exp); return err }},
		{"GC", func() error { _, err := s.GC(ctx, time.Now()); return err }},
		{"Lock", func() error { _, err := s.Lock(ctx, id(1)); return err }},
		{"LockedWrite", func() error { return held.(core.LockedWriter).Write(ctx, nil, exp) }},
		{"AddUserSession", func() error { return s.AddUserSession(ctx, "u", id(1), exp) }},
		{"UserSessions", func() error { _, err := s.UserSessions(ctx, "u"); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, memstore.ErrClosed) {
				t.Fatalf("err = %v, want ErrClosed", err)
			}
		})
	}
}

// TestLockLostWithFakeClock checks the stale-holder rules with the clock
// in the test's hands.
func TestLockLostWithFakeClock(t *testing.T) {
	clk := newClock()
	s := memstore.NewWithClock(memstore.Options{LockTTL: time.Minute}, clk.Now)
	ctx := context.Background()
	if err := s.Write(ctx, id(1), []byte("one"), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	stale, err := s.Lock(ctx, id(1))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	fresh, err := s.Lock(ctx, id(1)) // takes over at once: the TTL has passed
	if err != nil {
		t.Fatal(err)
	}
	if err := stale.(core.LockedWriter).Write(ctx, []byte("stale"), clk.Now().Add(time.Hour)); !errors.Is(err, core.ErrLockLost) {
		t.Fatalf("stale Write: %v, want ErrLockLost", err)
	}
	if err := stale.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	// The stale Unlock must not have released the fresh holder's lock.
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if l, err := s.Lock(tctx, id(1)); err == nil {
		l.Unlock(ctx)
		t.Fatal("a stale Unlock released the new holder's lock")
	}
	if err := fresh.(core.LockedWriter).Write(ctx, []byte("two"), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if data, _ := mustRead(t, s, id(1)); string(data) != "two" {
		t.Fatalf("data = %q, want \"two\"", data)
	}
	if err := fresh.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestUserIndexPrunedByGC(t *testing.T) {
	clk := newClock()
	s := memstore.NewWithClock(memstore.Options{}, clk.Now)
	ctx := context.Background()
	soon, later := clk.Now().Add(time.Minute), clk.Now().Add(time.Hour)
	for i, exp := range []time.Time{soon, soon, later} {
		if err := s.Write(ctx, id(i), []byte("x"), exp); err != nil {
			t.Fatal(err)
		}
		if err := s.AddUserSession(ctx, "alice", id(i), exp); err != nil {
			t.Fatal(err)
		}
	}
	// Session 1's expiry moved on: its index entry must survive GC.
	if err := s.Touch(ctx, id(1), later); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	if _, err := s.GC(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	ids, err := s.UserSessions(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, x := range ids {
		got[x] = true
	}
	if len(ids) != 2 || !got[id(1)] || !got[id(2)] {
		t.Fatalf("UserSessions after GC = %q, want the touched and the long-lived session", ids)
	}
}
