package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// lock runs the Locker subtests. They check ordering with channels rather
// than elapsed time; the only waits are short pauses that give a blocked
// goroutine the chance to misbehave, and the TTL itself.
func (k *kit) lock(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s core.Store, lk core.Locker)
	}{
		{"MutualExclusion", k.lockMutualExclusion},
		{"Timeout", k.lockTimeout},
		{"IndependentIDs", k.lockIndependentIDs},
		{"UnlockTwice", k.lockUnlockTwice},
		{"CreatesNoRecord", k.lockCreatesNoRecord},
		{"LockedReadWrite", k.lockReadWrite},
		{"Counter", k.lockCounter},
		{"DeadHolderRecovered", k.lockRecovered},
		{"ExpiredHolderCannotWrite", k.lockExpiredWrite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := k.storeWith(t, capLock, "Lock")
			tt.run(t, s, s.(core.Locker))
		})
	}
}

// pause is how long a subtest holds a lock to let a waiter misbehave; it
// stays well inside a short configured TTL.
func (k *kit) pause() time.Duration {
	p := 100 * time.Millisecond
	if k.cfg.lockTTL > 0 && k.cfg.lockTTL/3 < p {
		p = k.cfg.lockTTL / 3
	}
	return p
}

func mustLock(ctx context.Context, t *testing.T, lk core.Locker, id string) core.Lock {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	l, err := lk.Lock(ctx, id)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if l == nil {
		t.Fatal("Lock returned a nil lock and a nil error")
	}
	return l
}

func mustUnlock(ctx context.Context, t *testing.T, l core.Lock) {
	t.Helper()
	if err := l.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

// tryLock attempts a lock for d and reports whether it got it (and
// releases it again).
func tryLock(ctx context.Context, t *testing.T, lk core.Locker, id string, d time.Duration) bool {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	l, err := lk.Lock(tctx, id)
	if err != nil {
		return false
	}
	mustUnlock(ctx, t, l)
	return true
}

func (k *kit) lockMutualExclusion(t *testing.T, _ core.Store, lk core.Locker) {
	ctx := Context(t)
	id := NewID(t)
	first := mustLock(ctx, t, lk, id)

	released := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		lctx, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		second, err := lk.Lock(lctx, id)
		if err != nil {
			result <- fmt.Errorf("second Lock: %w", err)
			return
		}
		select {
		case <-released:
			result <- second.Unlock(ctx)
		default:
			_ = second.Unlock(ctx)
			result <- errors.New("second Lock returned while the first holder still held the lock")
		}
	}()

	select {
	case err := <-result:
		_ = first.Unlock(ctx)
		t.Fatalf("second Lock finished before the first Unlock: %v", err)
	case <-time.After(k.pause()):
	}
	close(released)
	mustUnlock(ctx, t, first)
	select {
	case err := <-result:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(opTimeout):
		t.Fatal("second Lock did not return after the first Unlock")
	}
}

func (k *kit) lockTimeout(t *testing.T, _ core.Store, lk core.Locker) {
	ctx := Context(t)
	id := NewID(t)
	held := mustLock(ctx, t, lk, id)
	defer mustUnlock(ctx, t, held)

	tctx, cancel := context.WithTimeout(ctx, k.pause())
	defer cancel()
	l, err := lk.Lock(tctx, id)
	if err == nil {
		_ = l.Unlock(ctx)
		t.Fatal("Lock of a held id returned before its context ended")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock with an expired context: err = %v, want one wrapping context.DeadlineExceeded", err)
	}
}

func (k *kit) lockIndependentIDs(t *testing.T, _ core.Store, lk core.Locker) {
	ctx := Context(t)
	a := mustLock(ctx, t, lk, NewID(t))
	defer mustUnlock(ctx, t, a)
	b := mustLock(ctx, t, lk, NewID(t))
	mustUnlock(ctx, t, b)
}

// lockUnlockTwice checks that a second Unlock is harmless and, above all,
// does not release the lock of the holder that came next.
func (k *kit) lockUnlockTwice(t *testing.T, _ core.Store, lk core.Locker) {
	ctx := Context(t)
	id := NewID(t)
	first := mustLock(ctx, t, lk, id)
	mustUnlock(ctx, t, first)
	if err := first.Unlock(ctx); err != nil {
		t.Fatalf("second Unlock: %v, want nil", err)
	}
	next := mustLock(ctx, t, lk, id)
	if err := first.Unlock(ctx); err != nil {
		_ = next.Unlock(ctx)
		t.Fatalf("stale Unlock: %v, want nil", err)
	}
	if tryLock(ctx, t, lk, id, k.pause()) {
		_ = next.Unlock(ctx)
		t.Fatal("a stale Unlock released the lock of the next holder")
	}
	mustUnlock(ctx, t, next)
	if !tryLock(ctx, t, lk, id, opTimeout) {
		t.Fatal("Lock after the last Unlock did not succeed")
	}
}

// lockCreatesNoRecord guards strict mode: locking an unknown id must not
// make it look known.
func (k *kit) lockCreatesNoRecord(t *testing.T, s core.Store, lk core.Locker) {
	ctx := Context(t)
	id := NewID(t)
	l := mustLock(ctx, t, lk, id)
	if lr, ok := l.(core.LockedReader); ok {
		data, found, err := lr.Read(ctx)
		if err != nil {
			_ = l.Unlock(ctx)
			t.Fatalf("LockedReader.Read: %v", err)
		}
		if found {
			_ = l.Unlock(ctx)
			t.Fatalf("LockedReader.Read of an unknown id: found=true (%s)", describe(data))
		}
	}
	mustUnlock(ctx, t, l)
	wantAbsent(ctx, t, s, id)
	if ex, ok := s.(core.Exister); ok && supports(t, s, capExist) {
		found, err := ex.Exists(ctx, id)
		if err != nil {
			t.Fatalf("Exists: %v", err)
		}
		if found {
			t.Fatal("Exists reports a record that was only locked, never written")
		}
	}
}

// lockReadWrite reads and writes through the lock. While the lock is held
// it calls nothing but the lock: a store may make plain calls wait for the
// lock (flock does), which would deadlock a holder calling them.
func (k *kit) lockReadWrite(t *testing.T, s core.Store, lk core.Locker) {
	ctx := Context(t)
	id := NewID(t)
	mustWrite(ctx, t, s, id, []byte("before"), later())
	l := mustLock(ctx, t, lk, id)
	lr, canRead := l.(core.LockedReader)
	lw, canWrite := l.(core.LockedWriter)
	if !canRead && !canWrite {
		mustUnlock(ctx, t, l)
		t.Skip("lock has no LockedReader or LockedWriter")
	}
	err := func() error {
		if canRead {
			data, found, err := lr.Read(ctx)
			if err != nil || !found || string(data) != "before" {
				return fmt.Errorf("LockedReader.Read = %s, %v, %v; want \"before\", true, nil", describe(data), found, err)
			}
		}
		if !canWrite {
			return nil
		}
		if err := lw.Write(ctx, []byte("after\x00\xff"), later()); err != nil {
			return fmt.Errorf("LockedWriter.Write: %w", err)
		}
		if canRead {
			data, found, err := lr.Read(ctx)
			if err != nil || !found || string(data) != "after\x00\xff" {
				return fmt.Errorf("LockedReader.Read after LockedWriter.Write = %s, %v, %v; want the written data", describe(data), found, err)
			}
		}
		return nil
	}()
	if uerr := l.Unlock(ctx); uerr != nil && err == nil {
		err = fmt.Errorf("Unlock: %w", uerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if canWrite {
		wantData(ctx, t, s, id, []byte("after\x00\xff"))
	}
}

// lockCounter is the lost-update test: goroutines increment one counter
// under the lock, reading and writing through the lock when it can.
func (k *kit) lockCounter(t *testing.T, s core.Store, lk core.Locker) {
	ctx := Context(t)
	id := NewID(t)
	mustWrite(ctx, t, s, id, []byte("0"), later())
	const goroutines, incs = 8, 10
	errc := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < incs; i++ {
				if err := lockedIncrement(ctx, s, lk, id); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	wantData(ctx, t, s, id, []byte(strconv.Itoa(goroutines*incs)))
}

func lockedIncrement(ctx context.Context, s core.Store, lk core.Locker, id string) (err error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	l, err := lk.Lock(ctx, id)
	if err != nil {
		return fmt.Errorf("Lock: %w", err)
	}
	defer func() {
		if uerr := l.Unlock(ctx); uerr != nil && err == nil {
			err = fmt.Errorf("Unlock: %w", uerr)
		}
	}()
	var data []byte
	var found bool
	if lr, ok := l.(core.LockedReader); ok {
		data, found, err = lr.Read(ctx)
	} else {
		data, found, err = s.Read(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("Read: %w", err)
	}
	if !found {
		return errors.New("the counter record vanished")
	}
	n, err := strconv.Atoi(string(data))
	if err != nil {
		return fmt.Errorf("the counter holds %s: %w", describe(data), err)
	}
	next := []byte(strconv.Itoa(n + 1))
	if lw, ok := l.(core.LockedWriter); ok {
		err = lw.Write(ctx, next, later())
	} else {
		err = s.Write(ctx, id, next, later())
	}
	if err != nil {
		return fmt.Errorf("Write: %w", err)
	}
	return nil
}

// lockRecovered holds a lock past its TTL: a waiter must get it, and the
// stale holder's write must be refused with core.ErrLockLost.
func (k *kit) lockRecovered(t *testing.T, s core.Store, lk core.Locker) {
	ttl := k.cfg.lockTTL
	if ttl <= 0 {
		t.Skip("no storetest.LockTTL given")
	}
	ctx := Context(t)
	id := NewID(t)
	mustWrite(ctx, t, s, id, []byte("one"), later())
	stale := mustLock(ctx, t, lk, id)

	wctx, cancel := context.WithTimeout(ctx, 10*ttl+opTimeout)
	defer cancel()
	fresh, err := lk.Lock(wctx, id)
	if err != nil {
		_ = stale.Unlock(ctx)
		t.Fatalf("Lock of an id whose holder outlived its TTL: %v", err)
	}
	// Nothing but the locks is called until both are released: a store may
	// make plain calls wait for the lock.
	// The new holder writes first, so a stale write that got through
	// would show in the data afterwards.
	var staleErr, freshErr error
	lw, freshWrites := fresh.(core.LockedWriter)
	if freshWrites {
		freshErr = lw.Write(ctx, []byte("two"), later())
	}
	lw, staleWrites := stale.(core.LockedWriter)
	if staleWrites {
		staleErr = lw.Write(ctx, []byte("stale"), later())
	}
	if err := stale.Unlock(ctx); err != nil {
		t.Errorf("Unlock of a lost lock: %v, want nil", err)
	}
	mustUnlock(ctx, t, fresh)
	if staleWrites && !errors.Is(staleErr, core.ErrLockLost) {
		t.Errorf("stale holder's Write: err = %v, want one wrapping core.ErrLockLost", staleErr)
	}
	switch {
	case freshWrites && freshErr != nil:
		t.Fatalf("new holder's Write: %v", freshErr)
	case freshWrites:
		wantData(ctx, t, s, id, []byte("two"))
	default:
		wantData(ctx, t, s, id, []byte("one"))
	}
}

// lockExpiredWrite holds a lock past its TTL with nobody waiting: the lock
// is gone all the same, so the holder's write is refused.
func (k *kit) lockExpiredWrite(t *testing.T, s core.Store, lk core.Locker) {
	ttl := k.cfg.lockTTL
	if ttl <= 0 {
		t.Skip("no storetest.LockTTL given")
	}
	ctx := Context(t)
	id := NewID(t)
	mustWrite(ctx, t, s, id, []byte("one"), later())
	l := mustLock(ctx, t, lk, id)
	lw, ok := l.(core.LockedWriter)
	if !ok {
		mustUnlock(ctx, t, l)
		t.Skip("lock has no LockedWriter")
	}
	time.Sleep(ttl + ttl/2 + 50*time.Millisecond)
	err := lw.Write(ctx, []byte("late"), later())
	if err := l.Unlock(ctx); err != nil {
		t.Errorf("Unlock of an expired lock: %v, want nil", err)
	}
	if !errors.Is(err, core.ErrLockLost) {
		t.Errorf("Write after the lock's TTL: err = %v, want one wrapping core.ErrLockLost", err)
	}
	wantData(ctx, t, s, id, []byte("one"))
	if !tryLock(ctx, t, lk, id, opTimeout) {
		t.Fatal("Lock after an expired holder's Unlock did not succeed")
	}
}
