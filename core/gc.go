package core

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// GC deletes expired sessions now, for stores that need it (a cron job may
// call it instead of, or besides, the background sweeper). It returns how
// many records the store removed; stores with native expiry report 0.
func (m *Manager) GC(ctx context.Context) (int, error) {
	if !m.caps.has(canGC) {
		return 0, nil
	}
	n, err := m.store.(Collector).GC(ctx, time.Now())
	if m.unsupported(ctx, err, canGC) {
		return 0, nil
	}
	return n, storeErr("gc", err)
}

// sweep runs GC every interval until Close.
func (m *Manager) sweep(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			m.runGC()
		}
	}
}

// maybeGC runs the store's GC in the background with the configured
// probability (PHP's gc_probability/gc_divisor).
func (m *Manager) maybeGC() {
	if m.cfg.GCProbability == 0 || !m.caps.has(canGC) {
		return
	}
	if rand.IntN(m.cfg.GCDivisor) >= m.cfg.GCProbability {
		return
	}
	m.goBackground(m.runGC)
}

// runGC runs one GC under the Manager's context, unless one is already
// running.
func (m *Manager) runGC() {
	if !m.gcRunning.TryLock() {
		return
	}
	defer m.gcRunning.Unlock()
	n, err := m.GC(m.ctx)
	if err != nil {
		if m.ctx.Err() == nil {
			m.log.LogAttrs(m.ctx, slog.LevelWarn, "sessionkit: gc failed", slog.Any("error", err))
		}
		return
	}
	m.log.LogAttrs(m.ctx, slog.LevelDebug, "sessionkit: gc", slog.Int("removed", n))
}
