package core

import (
	"context"
	"log/slog"
	"time"
)

// maxForwardHops bounds how many regenerations in a row a request follows.
const maxForwardHops = 4

// followWindow bounds how late a request that was already under way when its
// session's ID moved (Regenerate) may first reach for the session and still
// follow the move: a tab's parallel request does so within milliseconds, while
// a request held open on purpose — a planted pre-login token whose request
// body an attacker holds back until after the victim's login — must not read
// the logged-in session. Beyond RegenerateGrace + followWindow after the
// move the old token is dead for loads, whenever the request started.
const followWindow = time.Second

// loadRequest starts the session of a request from its headers: the token is
// verified and its ID checked here, but nothing is read from the store until
// the session is used (or at once with Config.EagerLoad). A missing,
// tampered, expired, oversized, wrongly signed or duplicated token gives a
// new, empty session; it is never an error.
func (m *Manager) loadRequest(ctx context.Context, h RequestHeader) *Session {
	s := new(Session)
	m.start(ctx, s, h)
	return s
}

// start is loadRequest (Adapter.Load) into a Session the caller allocated
// (with others of the request's values, as Handler does).
func (m *Manager) start(ctx context.Context, s *Session, h RequestHeader) {
	s.m, s.ctx, s.state, s.start = m, ctx, stateNew, time.Now()
	id, reason := m.tokens.read(h, s.start)
	switch {
	case id != "":
		s.id, s.target, s.state = id, id, stateUnloaded
	case reason != rejectNone:
		// Debug, not Info: every forged cookie would otherwise be a log line
		// an attacker writes; Config.Observer counts them (token_rejected).
		m.log.LogAttrs(ctx, slog.LevelDebug, "sessionkit: session token rejected", slog.String("reason", reason))
		m.observe(ctx, Event{Kind: EventTokenRejected, Reason: reason})
	}
	if m.cfg.EagerLoad && s.state == stateUnloaded {
		s.mu.Lock()
		s.ensure()
		s.mu.Unlock()
	}
}

// load reads the session's record; the caller holds s.mu. Strict mode: an
// ID without a live record is never adopted, the session becomes new. A
// forward left by a Regenerate is followed when the request may (follows);
// the client's ID stays s.id, the record's ID becomes s.target.
func (m *Manager) load(s *Session) {
	id := s.target
	// reached is when the request reached for its session: before any lock
	// wait; without one, a store read is short, and taking the clock only
	// at a forward (rare) judges a little later, which is stricter.
	var reached time.Time
	if m.cfg.Locking && !s.readOnly {
		reached = time.Now()
	}
	for hops := 0; ; hops++ {
		data, found, err := m.readForUpdate(s, id)
		if err != nil {
			s.err = err
			m.logError(s.ctx, "sessionkit: session load failed", id, err)
			m.observeErr(s.ctx, err)
			return
		}
		if !found {
			m.observe(s.ctx, Event{Kind: EventExpired, Reason: "idle"})
			m.reset(s)
			return
		}
		rec, values, lazy, err := m.decodeForLoad(data)
		if err != nil {
			m.corrupt(s, id, err)
			return
		}
		switch {
		case rec.gone:
			m.reset(s)
			return
		case rec.movedTo != "":
			m.unlock(s)
			if reached.IsZero() {
				reached = time.Now()
			}
			if hops == maxForwardHops || !m.follows(s, &rec) ||
				!reached.Before(rec.written.Add(m.cfg.RegenerateGrace+followWindow)) {
				m.reset(s)
				return
			}
			id = rec.movedTo
			continue
		case !s.start.Before(rec.deadline): // the deadline as of the request's start
			if err := m.store.Destroy(s.ctx, id); err != nil {
				m.logWarn(s.ctx, "sessionkit: destroying an expired session failed", id, err)
			}
			m.observe(s.ctx, Event{Kind: EventExpired, Reason: "absolute"})
			m.reset(s)
			return
		}
		s.target, s.rec, s.loaded, s.values, s.lazy, s.state = id, rec, data, values, lazy, stateLoaded
		m.observe(s.ctx, Event{Kind: EventLoaded})
		return
	}
}

// corrupt deals with a record that does not decode. sessionkit's own
// records are reported and removed, so a corrupt one costs one decode, not
// one per request that presents it, and the session starts afresh. In
// PlainRecords mode the record may be another program's (PHP's) that this
// codec cannot read: it is left alone and the request fails (ErrCorrupt),
// keeping its lock until Release — replacing it by a new ID would orphan
// its data and overwrite the other program's cookie.
func (m *Manager) corrupt(s *Session, id string, cause error) {
	if m.cfg.PlainRecords {
		s.err = cause
		m.logError(s.ctx, "sessionkit: session record does not decode; left as it is", id, cause)
		return
	}
	m.logWarn(s.ctx, "sessionkit: corrupt session record removed", id, cause)
	if err := m.store.Destroy(s.ctx, id); err != nil {
		m.logWarn(s.ctx, "sessionkit: removing a corrupt session record failed", id, err)
	}
	m.reset(s)
}

// reset turns s into a new, empty session, keeping what commit must still
// do (a pending Destroy).
func (m *Manager) reset(s *Session) {
	m.unlock(s)
	s.id, s.target, s.state, s.loaded = "", "", stateNew, nil
	s.values, s.lazy, s.dirty, s.rec = nil, false, nil, record{}
	s.metaDirty, s.handed, s.regenerate, s.reissue = false, nil, false, false
}
