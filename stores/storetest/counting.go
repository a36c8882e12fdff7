package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// ErrDown is what every call of a Counting store returns while Down is set.
var ErrDown = errors.New("storetest: store is down (connection refused)")

// Counting wraps a store, counts every call made to it (and through its
// locks), and can play a store that is down. Tests of the Manager and of
// adapters use it to assert "no store call", "no write" or "one read"
// exactly. It has the capabilities of the store it wraps, no more: an
// optional method the wrapped store lacks answers core.ErrNotSupported
// (uncounted), and the Manager falls back as if it were absent.
type Counting struct {
	Inner core.Store
	// Down makes every call fail with ErrDown.
	Down atomic.Bool

	Reads, Writes, Destroys, Touches, ExistsCalls, Swaps, Locks, GCs atomic.Int64
}

// NewCounting wraps inner.
func NewCounting(inner core.Store) *Counting { return &Counting{Inner: inner} }

var (
	_ core.Store     = (*Counting)(nil)
	_ core.Toucher   = (*Counting)(nil)
	_ core.Exister   = (*Counting)(nil)
	_ core.Swapper   = (*Counting)(nil)
	_ core.Locker    = (*Counting)(nil)
	_ core.Collector = (*Counting)(nil)
	_ core.UserIndex = (*Counting)(nil)
)

// Calls is the number of data-path calls so far (GC and the user index
// are not counted).
func (c *Counting) Calls() int64 {
	return c.Reads.Load() + c.Writes.Load() + c.Destroys.Load() + c.Touches.Load() +
		c.ExistsCalls.Load() + c.Swaps.Load() + c.Locks.Load()
}

// ReadsAll counts every way data was read: Read, Exists and reads through
// a lock.
func (c *Counting) ReadsAll() int64 { return c.Reads.Load() + c.ExistsCalls.Load() }

// WritesAll counts every way data reached the store: Write, Swap and
// writes through a lock.
func (c *Counting) WritesAll() int64 { return c.Writes.Load() + c.Swaps.Load() }

// errNotSupported is what Counting answers for a method the wrapped store
// lacks.
func errNotSupported(method string) error {
	return fmt.Errorf("storetest: the wrapped store has no %s: %w", method, core.ErrNotSupported)
}

// count records one call of counter and reports the store being down.
func (c *Counting) count(counter *atomic.Int64) error {
	counter.Add(1)
	if c.Down.Load() {
		return ErrDown
	}
	return nil
}

func (c *Counting) Read(ctx context.Context, id string) ([]byte, bool, error) {
	if err := c.count(&c.Reads); err != nil {
		return nil, false, err
	}
	return c.Inner.Read(ctx, id)
}

func (c *Counting) Write(ctx context.Context, id string, data []byte, exp time.Time) error {
	if err := c.count(&c.Writes); err != nil {
		return err
	}
	return c.Inner.Write(ctx, id, data, exp)
}

func (c *Counting) Destroy(ctx context.Context, id string) error {
	if err := c.count(&c.Destroys); err != nil {
		return err
	}
	return c.Inner.Destroy(ctx, id)
}

func (c *Counting) Touch(ctx context.Context, id string, exp time.Time) error {
	t, ok := c.Inner.(core.Toucher)
	if !ok {
		return errNotSupported("Touch")
	}
	if err := c.count(&c.Touches); err != nil {
		return err
	}
	return t.Touch(ctx, id, exp)
}

func (c *Counting) Exists(ctx context.Context, id string) (bool, error) {
	e, ok := c.Inner.(core.Exister)
	if !ok {
		return false, errNotSupported("Exists")
	}
	if err := c.count(&c.ExistsCalls); err != nil {
		return false, err
	}
	return e.Exists(ctx, id)
}

func (c *Counting) Swap(ctx context.Context, id string, old, new []byte, exp time.Time) (bool, error) {
	sw, ok := c.Inner.(core.Swapper)
	if !ok {
		return false, errNotSupported("Swap")
	}
	if err := c.count(&c.Swaps); err != nil {
		return false, err
	}
	return sw.Swap(ctx, id, old, new, exp)
}

func (c *Counting) GC(ctx context.Context, now time.Time) (int, error) {
	g, ok := c.Inner.(core.Collector)
	if !ok {
		return 0, errNotSupported("GC")
	}
	if err := c.count(&c.GCs); err != nil {
		return 0, err
	}
	return g.GC(ctx, now)
}

func (c *Counting) Lock(ctx context.Context, id string) (core.Lock, error) {
	lk, ok := c.Inner.(core.Locker)
	if !ok {
		return nil, errNotSupported("Lock")
	}
	if err := c.count(&c.Locks); err != nil {
		return nil, err
	}
	l, err := lk.Lock(ctx, id)
	if err != nil {
		return nil, err
	}
	return &countingLock{c: c, id: id, inner: l}, nil
}

func (c *Counting) AddUserSession(ctx context.Context, user, id string, exp time.Time) error {
	u, ok := c.Inner.(core.UserIndex)
	if !ok {
		return errNotSupported("UserIndex")
	}
	return u.AddUserSession(ctx, user, id, exp)
}

func (c *Counting) RemoveUserSession(ctx context.Context, user, id string) error {
	u, ok := c.Inner.(core.UserIndex)
	if !ok {
		return errNotSupported("UserIndex")
	}
	return u.RemoveUserSession(ctx, user, id)
}

func (c *Counting) UserSessions(ctx context.Context, user string) ([]string, error) {
	u, ok := c.Inner.(core.UserIndex)
	if !ok {
		return nil, errNotSupported("UserIndex")
	}
	return u.UserSessions(ctx, user)
}

// countingLock counts the reads and writes made through a held lock, and
// falls back to the store, as the Manager does, for what the wrapped lock
// cannot do itself.
type countingLock struct {
	c     *Counting
	id    string
	inner core.Lock
}

func (l *countingLock) Unlock(ctx context.Context) error { return l.inner.Unlock(ctx) }

func (l *countingLock) Read(ctx context.Context) ([]byte, bool, error) {
	if err := l.c.count(&l.c.Reads); err != nil {
		return nil, false, err
	}
	if lr, ok := l.inner.(core.LockedReader); ok {
		return lr.Read(ctx)
	}
	return l.c.Inner.Read(ctx, l.id)
}

func (l *countingLock) Write(ctx context.Context, data []byte, exp time.Time) error {
	if err := l.c.count(&l.c.Writes); err != nil {
		return err
	}
	if lw, ok := l.inner.(core.LockedWriter); ok {
		return lw.Write(ctx, data, exp)
	}
	return l.c.Inner.Write(ctx, l.id, data, exp)
}
