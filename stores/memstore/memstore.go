package memstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"time"
	"unsafe"
)

// ErrClosed reports use of a Store after Close.
var ErrClosed = errors.New("memstore: store closed")

// DefaultShards is the number of shards when Options.Shards is zero.
const DefaultShards = 64

// DefaultLockTTL is the lock TTL when Options.LockTTL is zero.
const DefaultLockTTL = 30 * time.Second

// maxShards caps Options.Shards.
const maxShards = 1 << 16

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Shards is the number of independently locked parts of the store,
	// rounded up to a power of two (default 64). More shards mean less
	// contention between goroutines working on different sessions.
	Shards int
	// LockTTL is how long a session lock is held at most (default 30s).
	// A holder that never unlocks — it crashed, it hung — loses the lock
	// after LockTTL, a waiter takes it over, and the old holder's write
	// through the lock is refused.
	LockTTL time.Duration
}

// Store keeps sessions in memory, in shards, each with its own lock. It is
// safe for concurrent use. Build it with New.
type Store struct {
	shards  []shard
	mask    uint64
	seed    maphash.Seed
	lockTTL time.Duration
	now     func() time.Time

	closeOnce sync.Once
	done      chan struct{} // closed by Close: wakes lock waiters
	users     userIndex
}

// entry is one session in one allocation that holds no pointers: its
// expiry (unix nanoseconds, 8 bytes; expired when exp <= now), its ID — the
// map's key points into it — and its data. One pointer-free object per
// session instead of three keeps the garbage collector's work small when
// the store holds millions of sessions, and a million of them with 64-byte
// data fit in well under 256 MiB. The ID and data bytes never change after
// newEntry; the expiry changes only under the shard's write lock.
type entry []byte

const expLen = 8

// newEntry packs id, a copy of data and exp into one entry and returns the
// map key for it, a string over the entry's own copy of id: the caller's id
// may point into a larger buffer (a cookie header) that the map would
// otherwise keep alive, or into one a framework reuses.
func newEntry(id string, data []byte, exp int64) (string, entry) {
	e := entry(make([]byte, expLen+len(id)+len(data)))
	e.setExp(exp)
	copy(e[expLen:], id)
	copy(e[expLen+len(id):], data)
	if id == "" {
		return "", e
	}
	return unsafe.String(&e[expLen], len(id)), e
}

func (e entry) exp() int64 { return int64(binary.NativeEndian.Uint64(e)) }

func (e entry) setExp(exp int64) { binary.NativeEndian.PutUint64(e, uint64(exp)) }

// data returns the session data of e, stored under an ID idLen bytes long.
// It aliases the entry: callers copy it before it leaves the store.
func (e entry) data(idLen int) []byte { return e[expLen+idLen:] }

// shardState is one shard: its sessions and the locks on its IDs. Both maps
// are nil once the store is closed.
type shardState struct {
	mu    sync.RWMutex
	m     map[string]entry
	locks map[string]*lockEntry
}

// shard pads shardState to a multiple of 128 bytes so neighbouring shards'
// mutexes do not share a cache line.
type shard struct {
	shardState
	_ [128 - unsafe.Sizeof(shardState{})%128]byte
}

// New returns an empty Store configured by opts.
func New(opts Options) *Store {
	n := opts.Shards
	if n <= 0 {
		n = DefaultShards
	}
	if n > maxShards {
		n = maxShards
	}
	p := 1
	for p < n {
		p <<= 1
	}
	s := &Store{
		shards:  make([]shard, p),
		mask:    uint64(p - 1),
		seed:    maphash.MakeSeed(),
		lockTTL: opts.LockTTL,
		now:     time.Now, // tests swap it (export_test.go)
		done:    make(chan struct{}),
	}
	if s.lockTTL <= 0 {
		s.lockTTL = DefaultLockTTL
	}
	for i := range s.shards {
		s.shards[i].m = make(map[string]entry)
		s.shards[i].locks = make(map[string]*lockEntry)
	}
	s.users.m = make(map[string]map[string]int64)
	return s
}

// shard returns the shard that holds id. The hash is seeded per store, so
// clients cannot pick IDs that all land in one shard.
func (s *Store) shard(id string) *shard {
	return &s.shards[maphash.String(s.seed, id)&s.mask]
}

func (s *Store) nowNano() int64 { return unixNano(s.now()) }

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// unixNano converts t to unix nanoseconds, clamped to int64's range, so a
// zero time is long expired and a far-future one never expires.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// opError wraps err, the reason op failed. IDs are never part of it.
func opError(op string, err error) error { return fmt.Errorf("memstore: %s: %w", op, err) }

// clone copies data, so the store never shares a slice with its callers;
// the copy of empty data is empty, not nil.
func clone(data []byte) []byte {
	c := make([]byte, len(data))
	copy(c, data)
	return c
}

// live returns the entry under id if it has not expired by now, or nil.
// The caller holds sh.mu.
func (sh *shard) live(id string, now int64) entry {
	if e := sh.m[id]; e != nil && e.exp() > now {
		return e
	}
	return nil
}

// put stores e (from newEntry) under key, its own ID. The caller holds
// sh.mu for writing. Assigning a string key that is already in the map
// stores the new key too, so a replaced entry is not kept alive by the
// old key. A record written already expired is kept like any other (it
// reads as absent) until GC counts it as removed.
func (sh *shard) put(key string, e entry) { sh.m[key] = e }

// Read returns a copy of the data stored under id. An absent or expired
// record is found=false with a nil error.
func (s *Store) Read(ctx context.Context, id string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, opError("read", err)
	}
	sh := s.shard(id)
	now := s.nowNano()
	sh.mu.RLock()
	if sh.m == nil {
		sh.mu.RUnlock()
		return nil, false, opError("read", ErrClosed)
	}
	e := sh.live(id, now)
	if e == nil {
		sh.mu.RUnlock()
		return nil, false, nil
	}
	data := clone(e.data(len(id)))
	sh.mu.RUnlock()
	return data, true, nil
}

// Write stores a copy of data under id until expiry, replacing any record.
func (s *Store) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return opError("write", err)
	}
	key, e := newEntry(id, data, unixNano(expiry))
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		return opError("write", ErrClosed)
	}
	sh.put(key, e)
	return nil
}

// Destroy removes the record under id. An absent id is not an error.
func (s *Store) Destroy(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return opError("destroy", err)
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		return opError("destroy", ErrClosed)
	}
	delete(sh.m, id)
	return nil
}

// Touch moves the expiry of a live record without touching its data. An
// absent or expired id is left alone and is not an error.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return opError("touch", err)
	}
	exp := unixNano(expiry)
	sh := s.shard(id)
	now := s.nowNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		return opError("touch", ErrClosed)
	}
	if e := sh.live(id, now); e != nil {
		e.setExp(exp) // in place: assigning sh.m[id] would make the caller's id the key
	}
	return nil
}

// Exists reports whether a live record is stored under id.
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, opError("exists", err)
	}
	sh := s.shard(id)
	now := s.nowNano()
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if sh.m == nil {
		return false, opError("exists", ErrClosed)
	}
	return sh.live(id, now) != nil, nil
}

// Swap replaces the record under id with new, atomically, only if the live
// record's bytes equal old — or, when old is nil, only if there is no live
// record. ok reports whether it wrote.
func (s *Store) Swap(ctx context.Context, id string, old, new []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, opError("swap", err)
	}
	key, ne := newEntry(id, new, unixNano(expiry))
	sh := s.shard(id)
	now := s.nowNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		return false, opError("swap", ErrClosed)
	}
	e := sh.live(id, now)
	if old == nil && e != nil || old != nil && (e == nil || !bytes.Equal(e.data(len(id)), old)) {
		return false, nil
	}
	sh.put(key, ne)
	return true, nil
}

// Close drops every session, wakes every goroutine waiting for a lock and
// makes later calls fail with ErrClosed. It starts nothing and so waits for
// nothing; calling it again is a no-op.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		for i := range s.shards {
			sh := &s.shards[i]
			sh.mu.Lock()
			sh.m, sh.locks = nil, nil
			sh.mu.Unlock()
		}
		s.users.mu.Lock()
		s.users.m = nil
		s.users.mu.Unlock()
	})
	return nil
}
