package memstore

import (
	"context"
	"runtime"
	"time"
)

// sweepSlice is how long GC works before it yields the processor, so that
// on a single CPU no lookup waits much longer for it.
const sweepSlice = 500 * time.Microsecond

// sweepChunk is how many entries GC examines while it holds a shard's
// lock. Between chunks it lets lookups in and yields the processor, so none
// waits for more than one chunk's worth of work (microseconds), however
// large the shard and however few the CPUs.
const sweepChunk = 512

// GC removes the records that expired at or before now and reports how
// many it removed. It never removes the record of a locked session, and it
// drops locks whose holders outlived their TTL. It works shard by shard and
// chunk by chunk, so a sweep of millions of sessions never blocks a lookup
// for long; when ctx ends it stops and returns what it removed so far with
// an error wrapping ctx.Err().
func (s *Store) GC(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, opError("gc", err)
	}
	cut := unixNano(now)
	removed := 0
	slice := time.Now()
	for i := range s.shards {
		n, err := s.shards[i].sweep(ctx, cut, s.nowNano(), &slice)
		removed += n
		if err != nil {
			return removed, err
		}
	}
	if err := s.users.prune(s, cut); err != nil {
		return removed, err
	}
	return removed, nil
}

// sweep removes the shard's records that expired by cut, skipping locked
// ones, and its locks whose deadline passed by lockNow (the store's clock,
// not cut: whether a lock is held is a fact of the present). slice is when
// the sweep last yielded.
func (sh *shard) sweep(ctx context.Context, cut, lockNow int64, slice *time.Time) (int, error) {
	sh.mu.Lock()
	if sh.m == nil {
		sh.mu.Unlock()
		return 0, opError("gc", ErrClosed)
	}
	for id, le := range sh.locks {
		if le.deadline <= lockNow {
			delete(sh.locks, id)
			close(le.released)
		}
	}
	// Ranging over a map while it changes is well defined in Go: entries
	// added meanwhile may or may not be seen, deleted ones are not. That
	// lets the loops release the lock between chunks and carry on.
	removed, seen := 0, 0
	// pause lets lookups in after every sweepChunk entries examined; false
	// means stop (with the shard unlocked): ctx ended or the store closed.
	var err error
	pause := func() bool {
		if seen++; seen%sweepChunk != 0 {
			return true
		}
		sh.mu.Unlock()
		if err = ctx.Err(); err != nil {
			err = opError("gc", err)
			return false
		}
		// Unlocking is not enough when the sweep shares its P with the
		// lookups (GOMAXPROCS=1, or a busy server): they would wait for
		// the scheduler's 10 ms time slice. Yield to them every sweepSlice
		// of work.
		if now := time.Now(); now.Sub(*slice) >= sweepSlice {
			runtime.Gosched()
			*slice = time.Now()
		}
		sh.mu.Lock()
		if sh.m == nil {
			sh.mu.Unlock()
			err = opError("gc", ErrClosed)
			return false
		}
		return true
	}
	expired := func(e entry) bool { return e.exp() <= cut && sh.locks[e.id()] == nil }
	for h, r := range sh.m {
		if expired(deref(r)) {
			delete(sh.m, h)
			removed++
		}
		if !pause() {
			return removed, err
		}
	}
	for id, r := range sh.spill {
		if expired(deref(r)) {
			delete(sh.spill, id)
			removed++
		}
		if !pause() {
			return removed, err
		}
	}
	sh.mu.Unlock()
	return removed, nil
}
