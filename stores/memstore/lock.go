package memstore

import (
	"context"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/internal/errs"
)

// lockEntry is a held lock on one ID. Its address is the holder's token:
// a holder owns the lock while the shard's map still points at its entry
// and the deadline has not passed.
type lockEntry struct {
	deadline int64         // unix nanoseconds
	released chan struct{} // closed when the entry leaves the map
}

// errLockLost is what a holder whose lock expired gets from Write.
var errLockLost = opError("write", errs.LockLost)

// Lock takes the lock on id, waiting while another holder has it, until ctx
// ends (the error then wraps ctx.Err()). A holder keeps the lock for at most
// Options.LockTTL; after that a waiter takes it over. The returned lock also
// reads and writes the record (core.LockedReader, core.LockedWriter).
//
// The result type is the unnamed interface core.Lock aliases, so Store
// satisfies core.Locker without importing core.
func (s *Store) Lock(ctx context.Context, id string) (interface{ Unlock(context.Context) error }, error) {
	sh, h := s.locate(id)
	for {
		if err := ctx.Err(); err != nil {
			return nil, opError("lock", err)
		}
		now := s.nowNano()
		sh.mu.Lock()
		if sh.locks == nil {
			sh.mu.Unlock()
			return nil, opError("lock", ErrClosed)
		}
		held := sh.locks[id]
		if held == nil || held.deadline <= now {
			if held != nil {
				// The holder outlived its TTL: wake whoever waits on it.
				close(held.released)
			}
			le := &lockEntry{deadline: now + int64(s.lockTTL), released: make(chan struct{})}
			sh.locks[strings.Clone(id)] = le
			sh.mu.Unlock()
			return &lock{s: s, sh: sh, h: h, id: id, le: le}, nil
		}
		released, wait := held.released, time.Duration(held.deadline-now)
		sh.mu.Unlock()

		// Sleep until the holder releases, its TTL runs out, ctx ends or
		// the store closes; then look again.
		timer := time.NewTimer(wait)
		select {
		case <-released:
		case <-timer.C:
		case <-ctx.Done():
		case <-s.done:
		}
		timer.Stop()
	}
}

// lock is a held lock, returned by Store.Lock.
type lock struct {
	s  *Store
	sh *shard
	h  uint64 // id's hash
	id string
	le *lockEntry
}

// Unlock releases the lock if this holder still has it. Releasing a lock
// that was lost or already released is not an error, and a cancelled ctx
// does not keep the lock held: releasing costs nothing.
func (l *lock) Unlock(context.Context) error {
	l.sh.mu.Lock()
	defer l.sh.mu.Unlock()
	if l.sh.locks != nil && l.sh.locks[l.id] == l.le {
		delete(l.sh.locks, l.id)
		close(l.le.released)
	}
	return nil
}

// Read returns the record the lock protects, like Store.Read.
func (l *lock) Read(ctx context.Context) ([]byte, bool, error) {
	return l.s.Read(ctx, l.id)
}

// Write stores data under the locked id until expiry, but only while this
// holder still owns the lock; otherwise it writes nothing and returns an
// error wrapping core.ErrLockLost.
func (l *lock) Write(ctx context.Context, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return opError("write", err)
	}
	e := newEntry(l.id, data, unixNano(expiry))
	now := l.s.nowNano()
	sh := l.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		return opError("write", ErrClosed)
	}
	if sh.locks[l.id] != l.le || l.le.deadline <= now {
		return errLockLost
	}
	sh.put(l.h, e)
	return nil
}
