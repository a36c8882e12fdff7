package core

import (
	"bytes"
	"context"
	"time"
)

// save saves the session's changes and writes the token headers to h. Pass
// h == nil once the response headers are gone: the store is still updated,
// but a change that needs a new token is refused with ErrHeadersSent. Commit
// may be called more than once; each call saves what changed since the last.
//
// A commit either applies every change of the request or returns an error
// and applies none that the error concerns: ErrStore (the store failed),
// ErrLockTimeout/ErrLockLost, ErrTooLarge, or ErrConflict (a concurrent
// request changed the same key, or ended or regenerated the session).
func (m *Manager) save(ctx context.Context, s *Session, h ResponseHeader) error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits, s.committed = true, s.changes
	if s.err != nil {
		return s.err
	}
	err := m.commit(ctx, s, h)
	if err != nil {
		s.err = err
		m.observeErr(ctx, err)
	}
	s.headersOut = true
	return err
}

func (m *Manager) commit(ctx context.Context, s *Session, h ResponseHeader) error {
	if s.used && h != nil {
		m.noStore(s, h)
	}
	if s.settled() {
		return nil // the commit after the headers of a request that changed nothing since
	}
	if e := s.ending; e != nil {
		if err := m.end(ctx, e); err != nil {
			return err
		}
		s.ending = nil
		if s.state == stateNew && !s.worthStoring() {
			return m.send(s, h, "")
		}
	}
	switch s.state {
	case stateUnloaded:
		return nil // never used: no store call, no header
	case stateNew:
		if !s.worthStoring() {
			return nil // lazy create: nothing to keep, no row, no cookie
		}
		if h == nil {
			return errorf(ErrHeadersSent, "a new session needs a token")
		}
		if err := m.create(ctx, s, time.Now()); err != nil {
			return err
		}
		s.extended = true
		return m.send(s, h, s.id)
	}
	if s.readOnly {
		return m.touchOnce(ctx, s)
	}
	if s.regenerate {
		if h == nil {
			return errorf(ErrHeadersSent, "Regenerate needs a new token")
		}
		if err := m.regenerate(ctx, s, time.Now()); err != nil {
			return err
		}
		s.extended = true
		return m.send(s, h, s.id)
	}
	payload, changed, err := m.changes(s)
	if err != nil {
		return err
	}
	if changed {
		err = m.update(ctx, s, payload, time.Now())
	} else {
		err = m.touchOnce(ctx, s)
	}
	if err != nil {
		return err
	}
	s.extended = true
	if s.reissue && h != nil {
		return m.send(s, h, s.id)
	}
	return nil
}

// touchOnce is touch at most once per request: the throttle of touch
// (SPEC: not on every request) also spares a request's later commits.
func (m *Manager) touchOnce(ctx context.Context, s *Session) error {
	if s.extended {
		return nil
	}
	if err := m.touch(ctx, s); err != nil {
		return err
	}
	s.extended = true
	return nil
}

// settled reports whether a loaded session has nothing to commit: its
// idle expiry was extended (or found fresh) by an earlier commit of the
// request, and nothing changed since. Handler's commit after the response
// then costs no clock read and no store call.
func (s *Session) settled() bool {
	return s.extended && s.state == stateLoaded && s.ending == nil && !s.regenerate && !s.reissue &&
		s.dirty == nil && !s.metaDirty && s.handed == nil
}

// worthStoring reports whether a new session holds anything to keep: a
// new session whose changes cancelled out costs no row and no cookie.
func (s *Session) worthStoring() bool {
	return len(s.values) > 0 || s.rec.user != "" // a new session: never lazy
}

// changes encodes a loaded session's values if they may have changed, and
// reports whether they differ from what was loaded (PHP's lazy_write
// compares the bytes the same way).
func (m *Manager) changes(s *Session) (payload []byte, changed bool, err error) {
	if s.dirty == nil && !s.metaDirty && s.handed == nil {
		return nil, false, nil
	}
	inPlace, err := m.changedInPlace(s)
	if err != nil {
		return nil, false, err
	}
	if s.dirty == nil && !s.metaDirty && len(inPlace) == 0 {
		return nil, false, nil
	}
	values := s.vals()
	if s.err != nil {
		return nil, false, s.err
	}
	if payload, err = m.payload(&s.rec, values); err != nil {
		return nil, false, err
	}
	return payload, s.metaDirty || !bytes.Equal(payload, s.rec.payload), nil
}

// noStore adds the headers that keep a session's response out of shared
// and browser caches (PHP's nocache limiter), once per request, unless
// Config.AllowCaching.
func (m *Manager) noStore(s *Session, h ResponseHeader) {
	if s.cacheSent || m.cfg.AllowCaching {
		return
	}
	m.tokens.noStore(h, &s.cacheVals)
	s.cacheSent = true
}

// send writes the token (or its removal, for id "") once per request.
func (m *Manager) send(s *Session, h ResponseHeader, id string) error {
	if h == nil {
		if id == "" {
			return nil // the record is gone; the stale token is harmless
		}
		return errorf(ErrHeadersSent, "the new token cannot be sent")
	}
	if s.tokenSent {
		return nil
	}
	var persist time.Duration
	if id != "" && s.rec.remember {
		persist = time.Until(s.rec.deadline)
	}
	if err := m.tokens.emit(h, id, persist, &s.cookieVals); err != nil {
		return err
	}
	s.tokenSent, s.reissue = true, false
	return nil
}

// encodeRecord builds the bytes of s's record with payload, as written now.
func (m *Manager) encodeRecord(s *Session, payload []byte, now time.Time) (record, []byte, error) {
	r := s.rec
	r.written = now
	data := m.seal(&r, payload)
	if len(data) > m.cfg.MaxDataSize {
		return r, nil, errorf(ErrTooLarge, "%d bytes, limit %d", len(data), m.cfg.MaxDataSize)
	}
	r.payload = data[len(data)-len(payload):]
	return r, data, nil
}

// stored records that s's record r, encoded as data, is now in the store
// at s.target, and keeps the user index in step.
func (m *Manager) stored(ctx context.Context, s *Session, r record, data []byte, expiry time.Time) {
	if prev := s.rec.user; prev != "" && prev != r.user && m.caps.has(canIndexUser) {
		if err := m.store.(UserIndex).RemoveUserSession(ctx, prev, s.target); err != nil && !m.unsupported(ctx, err, canIndexUser) {
			m.logWarn(ctx, "sessionkit: user index update failed", s.target, err)
		}
	}
	s.rec, s.loaded = r, data
	s.dirty, s.metaDirty = nil, false
	m.handedStored(s) // a change through them after this commit is the next one's
	m.indexUser(ctx, r.user, s.target, expiry)
	m.maybeGC()
}
