package core

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// touch extends an unchanged session's idle expiry, at most once per
// TouchInterval and server (PHP's updateTimestamp, throttled). Without the
// store's Touch it rewrites the record, as PHP calls write() for handlers
// without updateTimestamp. Whether it is due is judged now, at commit,
// not at the request's start: a slow request (an upload) must still extend
// the session it used. While the record itself is fresh the cache is not
// consulted.
func (m *Manager) touch(ctx context.Context, s *Session) error {
	now := time.Now()
	if iv := m.cfg.TouchInterval; iv > 0 {
		if now.Sub(s.rec.written) < iv {
			return nil
		}
		if t, ok := m.touched.get(s.target); ok && now.Sub(t) < iv {
			return nil
		}
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
// Every read request of a session looks it up, so lookups take no lock (a
// sync.Map: written once per session and TouchInterval, read many times).
// It is bounded: when full it starts over, which costs at most one extra
// Touch per session.
type touchCache struct {
	m atomic.Pointer[sync.Map] // ID -> *time.Time
	n atomic.Int64             // entries stored in m
}

const touchCacheMax = 1 << 16

func (c *touchCache) init() { c.m.Store(new(sync.Map)) }

func (c *touchCache) get(id string) (time.Time, bool) {
	v, ok := c.m.Load().Load(id)
	if !ok {
		return time.Time{}, false
	}
	return *v.(*time.Time), true
}

func (c *touchCache) set(id string, t time.Time) {
	m := c.m.Load()
	if c.n.Add(1) > touchCacheMax {
		m = new(sync.Map)
		c.m.Store(m)
		c.n.Store(1)
	}
	m.Store(strings.Clone(id), &t) // never pin the request header id came from
}

func (c *touchCache) forget(id string) { c.m.Load().Delete(id) }
