package core

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
)

// touch extends an unchanged session's idle expiry, at most once per
// TouchInterval and server (PHP's updateTimestamp, throttled). Without the
// store's Touch it rewrites the record, as PHP calls write() for handlers
// without updateTimestamp.
func (m *Manager) touch(ctx context.Context, s *Session, now time.Time) error {
	last := s.rec.written
	if t, ok := m.touched.get(s.target); ok && t.After(last) {
		last = t
	}
	if m.cfg.TouchInterval > 0 && now.Sub(last) < m.cfg.TouchInterval {
		return nil
	}
	if m.caps.has(canTouch) {
		err := m.store.(Toucher).Touch(ctx, s.target, m.expiry(&s.rec, now))
		if !m.unsupported(ctx, err, canTouch) {
			if err != nil {
				return storeErr("touch", err)
			}
			m.touched.set(s.target, now)
			return nil
		}
	}
	if s.readOnly {
		return nil // a read-only session writes nothing
	}
	if err := m.update(ctx, s, s.rec.payload, now); !errors.Is(err, ErrConflict) {
		return err
	}
	return nil // ended or moved meanwhile: there is nothing of ours to extend
}

// touchCache remembers when this server last extended a session's expiry,
// so that an unchanged session is touched at most once per TouchInterval.
// It is bounded: when full it is emptied, which costs at most one extra
// Touch per session.
type touchCache struct {
	mu sync.Mutex
	m  map[string]time.Time
}

const touchCacheMax = 1 << 16

func (c *touchCache) init() { c.m = make(map[string]time.Time) }

func (c *touchCache) get(id string) (time.Time, bool) {
	c.mu.Lock()
	t, ok := c.m[id]
	c.mu.Unlock()
	return t, ok
}

func (c *touchCache) set(id string, t time.Time) {
	c.mu.Lock()
	if len(c.m) >= touchCacheMax {
		clear(c.m)
	}
	c.m[strings.Clone(id)] = t // never pin the request header id came from
	c.mu.Unlock()
}

func (c *touchCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
