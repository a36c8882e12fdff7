package core

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// readForUpdate reads id for s: in locking mode (unless s is read-only) it
// first takes id's lock, which s then holds until Release.
func (m *Manager) readForUpdate(s *Session, id string) ([]byte, bool, error) {
	if !m.cfg.Locking || s.readOnly {
		data, found, err := m.store.Read(s.ctx, id)
		return data, found, storeErr("read", err)
	}
	lock, err := m.acquire(s.ctx, id)
	if err != nil {
		return nil, false, err
	}
	s.lock = lock
	return m.readAt(s.ctx, id, lock)
}

// acquire takes id's lock, waiting at most Config.LockTimeout. A wait that
// ran out of time (or a request that went away) is ErrLockTimeout; a lock
// call that failed is a store error.
func (m *Manager) acquire(ctx context.Context, id string) (Lock, error) {
	var start time.Time
	if m.cfg.Observer != nil {
		start = time.Now()
	}
	lctx, cancel := withBound(ctx, m.cfg.LockTimeout, false) // context.WithTimeout, without a timer unless the store waits
	lock, err := m.store.(Locker).Lock(lctx, id)
	timedOut := lctx.Err() != nil
	cancel()
	if err == nil && m.cfg.Observer != nil {
		m.observe(ctx, Event{Kind: EventLockWait, Duration: time.Since(start)})
	}
	if err != nil {
		if errors.Is(err, ErrNotSupported) {
			return nil, m.cannotLock(ctx)
		}
		if timedOut {
			return nil, errors.Join(ErrLockTimeout, err)
		}
		return nil, storeErr("lock", err)
	}
	return lock, nil
}

// readAt reads id, through lock when it is held and can read.
func (m *Manager) readAt(ctx context.Context, id string, lock Lock) ([]byte, bool, error) {
	if lr, ok := lock.(LockedReader); ok && lock != nil {
		data, found, err := lr.Read(ctx)
		return data, found, storeErr("read", err)
	}
	data, found, err := m.store.Read(ctx, id)
	return data, found, storeErr("read", err)
}

// write stores data under id, through lock when it is held and can write.
func (m *Manager) write(ctx context.Context, id string, lock Lock, data []byte, expiry time.Time) error {
	if lw, ok := lock.(LockedWriter); ok && lock != nil {
		return storeErr("write", lw.Write(ctx, data, expiry))
	}
	return storeErr("write", m.store.Write(ctx, id, data, expiry))
}

// endRequest ends the session's request (Adapter.Release).
func (m *Manager) endRequest(s *Session) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m.unlock(s)
	s.ended = true
	if s.commits && s.changes != s.committed && s.err == nil {
		m.warnUnsaved(s)
	}
}

// warnUnsaved logs, at WARN once per Manager and at DEBUG after that, that
// the session changed after its request's last commit: nothing will save
// that change. It happens when a goroutine the handler started (a body
// stream writer, say) changes the session after the response was
// committed. The caller holds s.mu.
func (m *Manager) warnUnsaved(s *Session) {
	level := slog.LevelDebug
	if !m.unsavedWarned.Swap(true) {
		level = slog.LevelWarn
	}
	m.log.LogAttrs(s.ctx, level, "sessionkit: the session changed after its last commit; the change is not saved (change the session before the response is committed, not in a goroutine that outlives it)",
		slog.String("session", m.tokens.logID(s.id)))
}

func (m *Manager) unlock(s *Session) {
	if s.lock != nil {
		m.release(s.ctx, s.target, s.lock)
		s.lock = nil
	}
}

// release unlocks lock, even when ctx is already cancelled.
func (m *Manager) release(ctx context.Context, id string, lock Lock) {
	uctx, cancel := withBound(ctx, 5*time.Second, true) // detached: a gone request still unlocks
	defer cancel()
	if err := lock.Unlock(uctx); err != nil {
		m.logWarn(ctx, "sessionkit: unlock failed", id, err)
	}
}
