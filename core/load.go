package core

import (
	"context"
	"log/slog"
	"time"
)

// maxForwardHops bounds how many regenerations in a row a request follows.
const maxForwardHops = 4

// Load starts the session of a request from its headers: the token is
// verified and its ID checked here, but nothing is read from the store until
// the session is used (or at once with Config.EagerLoad). A missing,
// tampered, expired, oversized, wrongly signed or duplicated token gives a
// new, empty session; it is never an error.
func (m *Manager) Load(ctx context.Context, h RequestHeader) *Session {
	s := &Session{m: m, ctx: ctx, state: stateNew, start: time.Now()}
	id, reason := m.tokens.read(h)
	switch {
	case id != "":
		s.id, s.target, s.state = id, id, stateUnloaded
	case reason != rejectNone:
		m.log.LogAttrs(ctx, slog.LevelInfo, "sessionkit: session token rejected", slog.String("reason", reason))
	}
	if m.cfg.EagerLoad && s.state == stateUnloaded {
		s.mu.Lock()
		s.ensure()
		s.mu.Unlock()
	}
	return s
}

// load reads the session's record; the caller holds s.mu. Strict mode: an
// ID without a live record is never adopted, the session becomes new. A
// forward left by a Regenerate is followed when the request may (follows);
// the client's ID stays s.id, the record's ID becomes s.target.
func (m *Manager) load(s *Session) {
	id := s.target
	for hops := 0; ; hops++ {
		data, found, err := m.readForUpdate(s, id)
		if err != nil {
			s.err = err
			m.logError(s.ctx, "sessionkit: session load failed", id, err)
			return
		}
		if !found {
			m.reset(s)
			return
		}
		rec, values, err := m.decode(data)
		if err != nil {
			m.quarantine(s, id, err)
			m.reset(s)
			return
		}
		switch {
		case rec.gone:
			m.reset(s)
			return
		case rec.movedTo != "":
			m.unlock(s)
			if hops == maxForwardHops || !m.follows(s, &rec) {
				m.reset(s)
				return
			}
			id = rec.movedTo
			continue
		case !time.Now().Before(rec.deadline):
			if err := m.store.Destroy(s.ctx, id); err != nil {
				m.logWarn(s.ctx, "sessionkit: destroying an expired session failed", id, err)
			}
			m.reset(s)
			return
		}
		s.target, s.rec, s.loaded, s.values, s.state = id, rec, data, values, stateLoaded
		return
	}
}

// decode parses a stored record and, for a live session, its values.
func (m *Manager) decode(data []byte) (record, map[string]any, error) {
	rec, err := decodeRecord(data)
	if err != nil || !rec.live() {
		return rec, nil, err
	}
	values, err := m.decodeValues(rec.payload)
	return rec, values, err
}

func (m *Manager) decodeValues(payload []byte) (map[string]any, error) {
	if len(payload) > m.cfg.MaxDataSize {
		return nil, errorf(ErrCorrupt, "record of %d bytes exceeds MaxDataSize", len(payload))
	}
	return m.cfg.Codec.Decode(payload)
}

// quarantine deals with a record that does not decode: it is reported and
// removed, so it costs one decode, not one per request that presents it.
func (m *Manager) quarantine(s *Session, id string, cause error) {
	m.logWarn(s.ctx, "sessionkit: corrupt session record removed", id, cause)
	if err := m.store.Destroy(s.ctx, id); err != nil {
		m.logWarn(s.ctx, "sessionkit: removing a corrupt session record failed", id, err)
	}
}

// reset turns s into a new, empty session, keeping what commit must still
// do (a pending Destroy).
func (m *Manager) reset(s *Session) {
	m.unlock(s)
	s.id, s.target, s.state, s.loaded = "", "", stateNew, nil
	s.values, s.dirty, s.rec = nil, nil, record{}
	s.metaDirty, s.maybeMut, s.regenerate, s.reissue = false, false, false, false
}
