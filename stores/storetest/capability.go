package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// touch checks that Touch extends a short-lived record past its original
// expiry without changing its data, and that it creates nothing for an
// absent id. The short record gets 1.5 s and is read again 1.1 s after that
// expiry, so stores that keep whole seconds are judged fairly.
func (k *kit) touch(t *testing.T) {
	s := k.storeWith(t, capTouch, "Touch")
	tc := s.(core.Toucher)
	ctx := Context(t)

	t.Run("Absent", func(t *testing.T) {
		id := NewID(t)
		if err := tc.Touch(ctx, id, later()); err != nil {
			t.Fatalf("Touch of an absent id: %v, want nil", err)
		}
		wantAbsent(ctx, t, s, id)
	})
	t.Run("Expired", func(t *testing.T) {
		id := NewID(t)
		mustWrite(ctx, t, s, id, []byte("gone"), past())
		if err := tc.Touch(ctx, id, later()); err != nil {
			t.Fatalf("Touch of an expired id: %v, want nil", err)
		}
		wantAbsent(ctx, t, s, id)
	})
	t.Run("Extends", func(t *testing.T) {
		id := NewID(t)
		want := []byte("touched")
		expiry := time.Now().Add(1500 * time.Millisecond)
		mustWrite(ctx, t, s, id, want, expiry)
		if err := tc.Touch(ctx, id, later()); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		time.Sleep(time.Until(expiry.Add(1100 * time.Millisecond)))
		got, found := mustRead(ctx, t, s, id)
		if !found {
			t.Fatal("a touched record expired at its original expiry")
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Touch changed the data: got %s, want %s", describe(got), describe(want))
		}
	})
}

func (k *kit) exists(t *testing.T) {
	s := k.storeWith(t, capExist, "Exists")
	ex := s.(core.Exister)
	ctx := Context(t)
	check := func(t *testing.T, id string, want bool) {
		t.Helper()
		got, err := ex.Exists(ctx, id)
		if err != nil {
			t.Fatalf("Exists: %v", err)
		}
		if got != want {
			t.Fatalf("Exists = %v, want %v", got, want)
		}
	}

	t.Run("Absent", func(t *testing.T) { check(t, NewID(t), false) })
	t.Run("Present", func(t *testing.T) {
		id := NewID(t)
		mustWrite(ctx, t, s, id, []byte("here"), later())
		check(t, id, true)
	})
	t.Run("Empty", func(t *testing.T) {
		id := NewID(t)
		mustWrite(ctx, t, s, id, []byte{}, later())
		check(t, id, true)
	})
	t.Run("AfterDestroy", func(t *testing.T) {
		id := NewID(t)
		mustWrite(ctx, t, s, id, []byte("here"), later())
		mustDestroy(ctx, t, s, id)
		check(t, id, false)
	})
	t.Run("Expired", func(t *testing.T) {
		id := NewID(t)
		mustWrite(ctx, t, s, id, []byte("stale"), past())
		check(t, id, false)
	})
}

var validID = regexp.MustCompile(`^[A-Za-z0-9,-]{16,256}$`)

func (k *kit) createID(t *testing.T) {
	s := k.storeWith(t, capCreateID, "CreateID")
	cr := s.(core.IDCreator)
	ctx := Context(t)
	const n = 1000
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		id, err := cr.CreateID(ctx)
		if err != nil {
			t.Fatalf("CreateID: %v", err)
		}
		if !validID.MatchString(id) {
			t.Fatalf("CreateID returned %q, which does not match %s", id, validID)
		}
		if seen[id] {
			t.Fatalf("CreateID returned %q twice in %d calls", id, i+1)
		}
		seen[id] = true
	}
}

func (k *kit) gc(t *testing.T) {
	t.Run("RemovesExpired", func(t *testing.T) {
		s := k.storeWith(t, capGC, "GC")
		ctx := Context(t)
		const expired, live = 5, 3
		for i := 0; i < expired; i++ {
			mustWrite(ctx, t, s, NewID(t), []byte("expired"), past())
		}
		liveIDs := make([]string, live)
		for i := range liveIDs {
			liveIDs[i] = NewID(t)
			mustWrite(ctx, t, s, liveIDs[i], []byte("live "+strconv.Itoa(i)), later())
		}
		removed, err := s.(core.Collector).GC(ctx, time.Now())
		if err != nil {
			t.Fatalf("GC: %v", err)
		}
		// Other tests sharing the backend may have left expired records too.
		if removed < expired {
			t.Errorf("GC removed %d records, want at least the %d expired ones", removed, expired)
		}
		for i, id := range liveIDs {
			wantData(ctx, t, s, id, []byte("live "+strconv.Itoa(i)))
		}
	})

	// KeepsLocked calls GC, while one record is locked, with a time ahead
	// of the clock, so the records are expired for GC but still readable
	// afterwards: the locked one must survive. The unlocked twin shows whether the store honours the
	// time GC is given; only then is the locked one expected to go once
	// it is unlocked.
	t.Run("KeepsLocked", func(t *testing.T) {
		s := k.storeWith(t, capGC, "GC")
		if !supports(t, s, capLock) {
			t.Skip("store has no Lock")
		}
		ctx := Context(t)
		gc := s.(core.Collector)
		locked, twin := NewID(t), NewID(t)
		expiry := time.Now().Add(5 * time.Second)
		mustWrite(ctx, t, s, locked, []byte("locked"), expiry)
		mustWrite(ctx, t, s, twin, []byte("twin"), expiry)
		l, err := s.(core.Locker).Lock(ctx, locked)
		if err != nil {
			t.Fatalf("Lock: %v", err)
		}
		_, gcErr := gc.GC(ctx, expiry.Add(5*time.Second))
		if err := l.Unlock(ctx); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
		if gcErr != nil {
			t.Fatalf("GC: %v", gcErr)
		}
		// Read after Unlock: a store may make plain reads wait for the lock.
		_, twinFound := mustRead(ctx, t, s, twin)
		got, found := mustRead(ctx, t, s, locked)
		if !found {
			t.Fatal("GC removed a record that was locked")
		}
		if !bytes.Equal(got, []byte("locked")) {
			t.Fatalf("GC changed a locked record: got %s", describe(got))
		}
		if twinFound {
			t.Log("GC did not remove the unlocked twin: the store does not sweep by the time it is given")
			return
		}
		// A store may release a lock its holder only read under after
		// Unlock returns (pgstore and redisstore do, so that the request
		// does not wait for it): GC sweeps the record once the release
		// landed, within a few round trips.
		for try := 0; ; try++ {
			if _, err := gc.GC(ctx, expiry.Add(5*time.Second)); err != nil {
				t.Fatalf("GC after Unlock: %v", err)
			}
			if _, found := mustRead(ctx, t, s, locked); !found || try == 50 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		wantAbsent(ctx, t, s, locked)
	})
}

// swap checks the compare-and-swap rules, including "destroy wins": a
// Swap against a destroyed record fails and brings nothing back.
func (k *kit) swap(t *testing.T) {
	a, b, c := []byte("A"), []byte("BB"), []byte("CCC")
	type step struct {
		old, new []byte
		ok       bool
		want     []byte // nil: absent afterwards
	}
	tests := []struct {
		name    string
		prepare func(ctx testCtx, id string)
		steps   []step
	}{
		{"CreateAbsent", nil, []step{{nil, a, true, a}}},
		{"CreateOverPresent", writeRecord(a, false), []step{{nil, b, false, a}}},
		{"Matching", writeRecord(a, false), []step{{a, b, true, b}, {b, c, true, c}}},
		{"NotMatching", writeRecord(b, false), []step{{a, c, false, b}}},
		{"OldOnAbsent", nil, []step{{a, b, false, nil}}},
		{"AfterDestroy", func(ctx testCtx, id string) {
			writeRecord(a, false)(ctx, id)
			mustDestroy(ctx.ctx, ctx.t, ctx.s, id)
		}, []step{{a, b, false, nil}, {nil, c, true, c}}},
		{"Expired", writeRecord(a, true), []step{{a, b, false, nil}, {nil, c, true, c}}},
		{"ToEmpty", writeRecord(a, false), []step{{a, []byte{}, true, []byte{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := k.storeWith(t, capSwap, "Swap")
			sw := s.(core.Swapper)
			ctx := Context(t)
			id := NewID(t)
			if tt.prepare != nil {
				tt.prepare(testCtx{ctx, t, s}, id)
			}
			for i, st := range tt.steps {
				ok, err := sw.Swap(ctx, id, st.old, st.new, later())
				if err != nil {
					t.Fatalf("step %d: Swap: %v", i, err)
				}
				if ok != st.ok {
					t.Fatalf("step %d: Swap(old=%s, new=%s) ok = %v, want %v",
						i, describeOld(st.old), describe(st.new), ok, st.ok)
				}
				if st.want == nil {
					wantAbsent(ctx, t, s, id)
				} else {
					wantData(ctx, t, s, id, st.want)
				}
			}
		})
	}

	t.Run("NoAliasing", func(t *testing.T) {
		s := k.storeWith(t, capSwap, "Swap")
		ctx := Context(t)
		id := NewID(t)
		data := []byte("original")
		ok, err := s.(core.Swapper).Swap(ctx, id, nil, data, later())
		if err != nil || !ok {
			t.Fatalf("Swap: ok=%v err=%v", ok, err)
		}
		copy(data, "mutated!")
		wantData(ctx, t, s, id, []byte("original"))
	})

	// Concurrent increments through Swap with retries must all count.
	t.Run("ConcurrentIncrements", func(t *testing.T) {
		s := k.storeWith(t, capSwap, "Swap")
		sw := s.(core.Swapper)
		ctx := Context(t)
		id := NewID(t)
		mustWrite(ctx, t, s, id, []byte("0"), later())
		const goroutines, incs, maxTries = 8, 10, 10000
		errc := make(chan error, goroutines)
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errc <- swapIncrements(ctx, s, sw, id, incs, maxTries)
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		wantData(ctx, t, s, id, []byte(strconv.Itoa(goroutines*incs)))
	})
}

func describeOld(old []byte) string {
	if old == nil {
		return "nil"
	}
	return describe(old)
}

func (k *kit) open(t *testing.T) {
	s := k.storeWith(t, capOpen, "Open")
	ctx := Context(t)
	if err := s.(core.Opener).Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	id := NewID(t)
	mustWrite(ctx, t, s, id, []byte("opened"), later())
	wantData(ctx, t, s, id, []byte("opened"))
}

func (k *kit) close(t *testing.T) {
	s := k.storeWith(t, capClose, "Close")
	ctx := Context(t)
	id := NewID(t)
	mustWrite(ctx, t, s, id, []byte("before close"), later())
	if err := s.(interface{ Close() error }).Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func (k *kit) userIndex(t *testing.T) {
	s := k.storeWith(t, capIndexUser, "UserIndex")
	ui := s.(core.UserIndex)
	ctx := Context(t)
	user, other := "user-"+NewID(t), "user-"+NewID(t)
	id1, id2, id3 := NewID(t), NewID(t), NewID(t)
	list := func(t *testing.T, user string) []string {
		t.Helper()
		ids, err := ui.UserSessions(ctx, user)
		if err != nil {
			t.Fatalf("UserSessions: %v", err)
		}
		slices.Sort(ids)
		return ids
	}
	sorted := func(ids ...string) []string {
		slices.Sort(ids)
		return ids
	}

	if got := list(t, user); len(got) != 0 {
		t.Fatalf("UserSessions of an unknown user = %q, want none", got)
	}
	for _, add := range []struct{ user, id string }{{user, id1}, {user, id2}, {other, id3}} {
		mustWrite(ctx, t, s, add.id, []byte("bound"), later())
		if err := ui.AddUserSession(ctx, add.user, add.id, later()); err != nil {
			t.Fatalf("AddUserSession: %v", err)
		}
	}
	if got, want := list(t, user), sorted(id1, id2); !slices.Equal(got, want) {
		t.Fatalf("UserSessions = %q, want %q", got, want)
	}
	if got, want := list(t, other), sorted(id3); !slices.Equal(got, want) {
		t.Fatalf("UserSessions of the other user = %q, want %q", got, want)
	}
	if err := ui.RemoveUserSession(ctx, user, id1); err != nil {
		t.Fatalf("RemoveUserSession: %v", err)
	}
	if got, want := list(t, user), sorted(id2); !slices.Equal(got, want) {
		t.Fatalf("UserSessions after RemoveUserSession = %q, want %q", got, want)
	}
	if err := ui.RemoveUserSession(ctx, user, id1); err != nil {
		t.Fatalf("RemoveUserSession of a removed session: %v, want nil", err)
	}
	if err := ui.RemoveUserSession(ctx, user, id2); err != nil {
		t.Fatalf("RemoveUserSession: %v", err)
	}
	if got := list(t, user); len(got) != 0 {
		t.Fatalf("UserSessions after removing every session = %q, want none", got)
	}
}

// testCtx bundles what a table-driven preparation step needs.
type testCtx struct {
	ctx context.Context
	t   *testing.T
	s   core.Store
}

// writeRecord returns a preparation step that writes data, already expired
// when expired is set.
func writeRecord(data []byte, expired bool) func(testCtx, string) {
	return func(c testCtx, id string) {
		c.t.Helper()
		expiry := later()
		if expired {
			expiry = past()
		}
		mustWrite(c.ctx, c.t, c.s, id, data, expiry)
	}
}

// swapIncrements adds one to the decimal counter under id, incs times,
// re-reading and retrying each time another goroutine got there first.
func swapIncrements(ctx context.Context, s core.Store, sw core.Swapper, id string, incs, maxTries int) error {
	for i := 0; i < incs; i++ {
		for try := 0; ; try++ {
			if try == maxTries {
				return fmt.Errorf("increment %d: Swap failed %d times in a row", i, maxTries)
			}
			old, found, err := s.Read(ctx, id)
			if err != nil {
				return fmt.Errorf("Read: %w", err)
			}
			if !found {
				return errors.New("the counter record vanished")
			}
			n, err := strconv.Atoi(string(old))
			if err != nil {
				return fmt.Errorf("the counter holds %s: %w", describe(old), err)
			}
			ok, err := sw.Swap(ctx, id, old, []byte(strconv.Itoa(n+1)), later())
			if err != nil {
				return fmt.Errorf("Swap: %w", err)
			}
			if ok {
				break
			}
		}
	}
	return nil
}
