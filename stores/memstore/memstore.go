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
	shards []shard
	mask   uint64
	seed   maphash.Seed
	// hashMask is all ones; tests clear it so that every ID collides.
	hashMask uint64
	lockTTL  time.Duration
	now      func() time.Time

	closeOnce sync.Once
	done      chan struct{} // closed by Close: wakes lock waiters
	users     userIndex
}

// entry is one session in one allocation that holds no pointers: its
// expiry (unix nanoseconds; expired when exp <= now), the lengths of its ID
// and data, its ID and its data. The shard's map is keyed by the ID's
// 64-bit hash and holds a pointer to the entry's first byte (ref), so each
// session costs the garbage collector one pointer to a pointer-free object.
// It used to be three objects, one of them scanned, and with a million
// sessions stored the collector's work dominated creating a session. A
// million entries with 64-byte data take about 160 MiB. The ID and data
// bytes never change after newEntry; the expiry changes only under the
// shard's write lock.
type entry []byte

const (
	expLen    = 8
	idLenAt   = expLen        // 4 bytes: len(id)
	dataLenAt = idLenAt + 4   // 4 bytes: len(data)
	idAt      = dataLenAt + 4 // the ID, then the data
)

// ref is how the maps hold an entry: a pointer to its first byte, 8 bytes
// per map slot instead of a slice's 24 — the entry knows its own length.
type ref = *byte

func (e entry) ref() ref { return &e[0] }

// deref returns the entry r points to, or nil for a nil r.
func deref(r ref) entry {
	if r == nil {
		return nil
	}
	head := unsafe.Slice(r, idAt)
	n := idAt + int(binary.NativeEndian.Uint32(head[idLenAt:])) + int(binary.NativeEndian.Uint32(head[dataLenAt:]))
	return unsafe.Slice(r, n)
}

// newEntry packs exp, id and a copy of data into one entry. It keeps no
// reference to the caller's id or data: an id may point into a larger
// buffer (a cookie header) that the store would otherwise keep alive, or
// into one a framework reuses for its next request.
func newEntry(id string, data []byte, exp int64) entry {
	e := entry(make([]byte, idAt+len(id)+len(data)))
	e.setExp(exp)
	binary.NativeEndian.PutUint32(e[idLenAt:], uint32(len(id)))
	binary.NativeEndian.PutUint32(e[dataLenAt:], uint32(len(data)))
	copy(e[idAt:], id)
	copy(e[idAt+len(id):], data)
	return e
}

func (e entry) exp() int64 { return int64(binary.NativeEndian.Uint64(e)) }

func (e entry) setExp(exp int64) { binary.NativeEndian.PutUint64(e, uint64(exp)) }

func (e entry) idLen() int { return int(binary.NativeEndian.Uint32(e[idLenAt:])) }

// id returns the entry's ID, a string over the entry's own bytes.
func (e entry) id() string {
	n := e.idLen()
	if n == 0 {
		return ""
	}
	return unsafe.String(&e[idAt], n)
}

// data returns the session data of e. It aliases the entry: callers copy
// it before it leaves the store.
func (e entry) data() []byte { return e[idAt+e.idLen():] }

// shardState is one shard: its sessions and the locks on its IDs. Sessions
// are in m under their ID's hash; an ID whose hash another ID's entry holds
// in m (a 64-bit collision: about one in 10^7 stores of a million sessions)
// goes to spill, which is nil until then. All maps are nil once the store is
// closed.
type shardState struct {
	mu    sync.RWMutex
	m     map[uint64]ref
	spill map[string]ref
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
		shards:   make([]shard, p),
		mask:     uint64(p - 1),
		seed:     maphash.MakeSeed(),
		hashMask: ^uint64(0),
		lockTTL:  opts.LockTTL,
		now:      time.Now, // tests swap it (export_test.go)
		done:     make(chan struct{}),
	}
	if s.lockTTL <= 0 {
		s.lockTTL = DefaultLockTTL
	}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]ref)
		s.shards[i].locks = make(map[string]*lockEntry)
	}
	s.users.m = make(map[string]map[string]int64)
	return s
}

// locate returns the shard that holds id and id's hash, its key there. The
// hash is seeded per store, so clients cannot pick IDs that all land in one
// shard or collide.
func (s *Store) locate(id string) (*shard, uint64) {
	h := maphash.String(s.seed, id) & s.hashMask
	return &s.shards[h&s.mask], h
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

// get returns the entry under id, whose hash is h, or nil. The caller holds
// sh.mu.
func (sh *shard) get(h uint64, id string) entry {
	if e := deref(sh.m[h]); e != nil && e.id() == id {
		return e
	}
	if len(sh.spill) > 0 {
		return deref(sh.spill[id])
	}
	return nil
}

// live is get for an entry that has not expired by now.
func (sh *shard) live(h uint64, id string, now int64) entry {
	if e := sh.get(h, id); e != nil && e.exp() > now {
		return e
	}
	return nil
}

// put stores e (from newEntry) under its ID, whose hash is h, replacing the
// ID's entry if there is one. The caller holds sh.mu for writing. A record
// written already expired is kept like any other (it reads as absent) until
// GC counts it as removed.
func (sh *shard) put(h uint64, e entry) {
	id := e.id()
	if len(sh.spill) > 0 {
		if _, ok := sh.spill[id]; ok {
			sh.spill[id] = e.ref()
			return
		}
	}
	if cur := deref(sh.m[h]); cur == nil || cur.id() == id {
		sh.m[h] = e.ref()
		return
	}
	if sh.spill == nil {
		sh.spill = make(map[string]ref)
	}
	sh.spill[id] = e.ref()
}

// del removes the entry under id, whose hash is h. The caller holds sh.mu
// for writing.
func (sh *shard) del(h uint64, id string) {
	if e := deref(sh.m[h]); e != nil && e.id() == id {
		delete(sh.m, h)
		return
	}
	delete(sh.spill, id) // once made, spill stays: GC ranges over it unlocked
}

// Read returns a copy of the data stored under id. An absent or expired
// record is found=false with a nil error.
func (s *Store) Read(ctx context.Context, id string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, opError("read", err)
	}
	sh, h := s.locate(id)
	now := s.nowNano()
	sh.mu.RLock()
	if sh.m == nil {
		sh.mu.RUnlock()
		return nil, false, opError("read", ErrClosed)
	}
	e := sh.live(h, id, now)
	if e == nil {
		sh.mu.RUnlock()
		return nil, false, nil
	}
	data := clone(e.data())
	sh.mu.RUnlock()
	return data, true, nil
}

// Write stores a copy of data under id until expiry, replacing any record.
func (s *Store) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return opError("write", err)
	}
	e := newEntry(id, data, unixNano(expiry))
	sh, h := s.locate(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		return opError("write", ErrClosed)
	}
	sh.put(h, e)
	return nil
}

// Destroy removes the record under id. An absent id is not an error.
func (s *Store) Destroy(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return opError("destroy", err)
	}
	sh, h := s.locate(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		return opError("destroy", ErrClosed)
	}
	sh.del(h, id)
	return nil
}

// Touch moves the expiry of a live record without touching its data. An
// absent or expired id is left alone and is not an error.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return opError("touch", err)
	}
	exp := unixNano(expiry)
	sh, h := s.locate(id)
	now := s.nowNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		return opError("touch", ErrClosed)
	}
	if e := sh.live(h, id, now); e != nil {
		e.setExp(exp)
	}
	return nil
}

// Exists reports whether a live record is stored under id.
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, opError("exists", err)
	}
	sh, h := s.locate(id)
	now := s.nowNano()
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if sh.m == nil {
		return false, opError("exists", ErrClosed)
	}
	return sh.live(h, id, now) != nil, nil
}

// Swap replaces the record under id with new, atomically, only if the live
// record's bytes equal old — or, when old is nil, only if there is no live
// record. ok reports whether it wrote.
func (s *Store) Swap(ctx context.Context, id string, old, new []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, opError("swap", err)
	}
	ne := newEntry(id, new, unixNano(expiry))
	sh, h := s.locate(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		return false, opError("swap", ErrClosed)
	}
	// Only an existing entry needs the clock (its expiry): creating a
	// session, the common Swap, reads no clock.
	e := sh.get(h, id)
	if e != nil && e.exp() <= s.nowNano() {
		e = nil
	}
	if old == nil && e != nil || old != nil && (e == nil || !bytes.Equal(e.data(), old)) {
		return false, nil
	}
	sh.put(h, ne)
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
			sh.m, sh.spill, sh.locks = nil, nil, nil
			sh.mu.Unlock()
		}
		s.users.mu.Lock()
		s.users.m = nil
		s.users.mu.Unlock()
	})
	return nil
}
