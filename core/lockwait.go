package core

import (
	"context"
	"sync"
	"time"
)

// boundedCtx is context.WithTimeout for the lock calls of every request in
// locking mode (taking the lock, and releasing it), made cheap for the
// common case: a lock that is free is taken without waiting, and a store
// that does not wait asks the context only for Err or Deadline. Those are
// answered from the clock, and the timer and the registration with the
// parent that context.WithTimeout pays for up front (three allocations, a
// runtime timer, an entry in the request context's children) are made only
// when Done is called, that is, when a store really waits.
//
// detached makes it ignore the parent's cancellation, as
// context.WithoutCancel does (values still come from the parent).
type boundedCtx struct {
	parent   context.Context
	deadline time.Time
	detached bool

	mu     sync.Mutex
	armed  context.Context // context.WithDeadline, once Done was called
	cancel context.CancelFunc
}

// withBound returns parent bounded by d from now, and the function that
// releases its timer (if one was made); call it once the store call
// returned.
func withBound(parent context.Context, d time.Duration, detached bool) (*boundedCtx, func()) {
	c := &boundedCtx{parent: parent, deadline: time.Now().Add(d), detached: detached}
	return c, c.stop
}

func (c *boundedCtx) Deadline() (time.Time, bool) {
	if !c.detached {
		if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
			return d, true
		}
	}
	return c.deadline, true
}

func (c *boundedCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed == nil {
		p := c.parent
		if c.detached {
			p = context.WithoutCancel(p)
		}
		c.armed, c.cancel = context.WithDeadline(p, c.deadline)
	}
	return c.armed.Done()
}

func (c *boundedCtx) Err() error {
	c.mu.Lock()
	armed := c.armed
	c.mu.Unlock()
	if armed != nil {
		return armed.Err()
	}
	if !c.detached {
		if err := c.parent.Err(); err != nil {
			return err
		}
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *boundedCtx) Value(key any) any { return c.parent.Value(key) }

// stop releases the timer Done made, if any.
func (c *boundedCtx) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}
