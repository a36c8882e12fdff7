package adaptertest

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
)

// errDown is what every call of a store switched off returns.
var errDown = errors.New("adaptertest: store is down")

// countingStore is a memstore that counts the calls the suite asserts on
// and can be switched off to play a store that is down.
type countingStore struct {
	inner *memstore.Store
	down  atomic.Bool

	reads, writes, touches, destroys atomic.Int64
}

var (
	_ core.Store     = (*countingStore)(nil)
	_ core.Toucher   = (*countingStore)(nil)
	_ core.Exister   = (*countingStore)(nil)
	_ core.Swapper   = (*countingStore)(nil)
	_ core.Locker    = (*countingStore)(nil)
	_ core.Collector = (*countingStore)(nil)
)

func newCountingStore() *countingStore {
	return &countingStore{inner: memstore.New(memstore.Options{})}
}

// counts is a snapshot of the call counters.
type counts struct{ reads, writes, touches, destroys int64 }

func (s *countingStore) counts() counts {
	return counts{s.reads.Load(), s.writes.Load(), s.touches.Load(), s.destroys.Load()}
}

func (s *countingStore) Read(ctx context.Context, id string) ([]byte, bool, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return nil, false, errDown
	}
	return s.inner.Read(ctx, id)
}

func (s *countingStore) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	s.writes.Add(1)
	if s.down.Load() {
		return errDown
	}
	return s.inner.Write(ctx, id, data, expiry)
}

func (s *countingStore) Destroy(ctx context.Context, id string) error {
	s.destroys.Add(1)
	if s.down.Load() {
		return errDown
	}
	return s.inner.Destroy(ctx, id)
}

func (s *countingStore) Touch(ctx context.Context, id string, expiry time.Time) error {
	s.touches.Add(1)
	if s.down.Load() {
		return errDown
	}
	return s.inner.Touch(ctx, id, expiry)
}

func (s *countingStore) Exists(ctx context.Context, id string) (bool, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return false, errDown
	}
	return s.inner.Exists(ctx, id)
}

func (s *countingStore) Swap(ctx context.Context, id string, old, new []byte, expiry time.Time) (bool, error) {
	s.writes.Add(1)
	if s.down.Load() {
		return false, errDown
	}
	return s.inner.Swap(ctx, id, old, new, expiry)
}

func (s *countingStore) GC(ctx context.Context, now time.Time) (int, error) {
	if s.down.Load() {
		return 0, errDown
	}
	return s.inner.GC(ctx, now)
}

func (s *countingStore) Lock(ctx context.Context, id string) (core.Lock, error) {
	if s.down.Load() {
		return nil, errDown
	}
	l, err := s.inner.Lock(ctx, id)
	if err != nil {
		return nil, err
	}
	return &countingLock{s: s, inner: l}, nil
}

// countingLock counts the reads and writes made through a held lock.
type countingLock struct {
	s     *countingStore
	inner core.Lock
}

func (l *countingLock) Unlock(ctx context.Context) error { return l.inner.Unlock(ctx) }

func (l *countingLock) Read(ctx context.Context) ([]byte, bool, error) {
	l.s.reads.Add(1)
	if l.s.down.Load() {
		return nil, false, errDown
	}
	return l.inner.(core.LockedReader).Read(ctx)
}

func (l *countingLock) Write(ctx context.Context, data []byte, expiry time.Time) error {
	l.s.writes.Add(1)
	if l.s.down.Load() {
		return errDown
	}
	return l.inner.(core.LockedWriter).Write(ctx, data, expiry)
}
