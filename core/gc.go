package core

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// GC deletes expired sessions now, for stores that need it (a cron job may
// call it instead of, or besides, the background sweeper). It returns how
// many records the store removed; stores with native expiry report 0.
func (m *Manager) GC(ctx context.Context) (int, error) {
	if !m.caps.Has(CanGC) {
		return 0, nil
	}
	n, err := m.store.(Collector).GC(ctx, time.Now())
	return n, storeErr("gc", err)
}

// sweep runs GC every interval until Close.
func (m *Manager) sweep(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-m.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			m.runGC(ctx)
			cancel()
		}
	}
}

// runGC runs one GC unless one is already running.
func (m *Manager) runGC(ctx context.Context) {
	if !m.gcRunning.TryLock() {
		return
	}
	defer m.gcRunning.Unlock()
	n, err := m.GC(ctx)
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "sessionkit: gc failed", slog.Any("error", err))
		return
	}
	m.log.LogAttrs(ctx, slog.LevelDebug, "sessionkit: gc", slog.Int("removed", n))
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
	c.m[id] = t
	c.mu.Unlock()
}

func (c *touchCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
