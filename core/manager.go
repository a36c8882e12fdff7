package core

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/stores/memstore"
)

// Manager owns the session lifecycle: it turns a request's token into a
// Session, and a Session's changes into store calls and response headers.
// One Manager serves every request of an application; it is safe for
// concurrent use.
type Manager struct {
	cfg    Config
	store  Store
	caps   Capability
	ids    idGenerator
	tokens *tokens
	log    *slog.Logger

	touched touchCache

	bg        sync.Mutex // guards closed and wg.Add
	closed    bool
	stop      chan struct{}
	wg        sync.WaitGroup
	gcRunning sync.Mutex // one GC at a time
}

// New returns a Manager over store with cfg. A nil store means an in-memory
// store (stores/memstore). The store's Open capability is called here, and
// a background GC is started for stores that have one; Close stops it.
func New(store Store, cfg Config) (*Manager, error) {
	cfg.Keys = append([][]byte(nil), cfg.Keys...)
	cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if store == nil {
		store = memstore.New(memstore.Options{})
	}
	m := &Manager{cfg: cfg, store: store, caps: Capabilities(store), log: cfg.Logger, stop: make(chan struct{})}
	if cfg.Locking && !m.caps.Has(CanLock) {
		return nil, errorf(ErrConfig, "Locking needs a store with the Lock capability; %T has none", store)
	}
	var err error
	if m.ids, err = newIDGenerator(cfg.IDLength, cfg.IDBitsPerChar, cfg.Rand); err != nil {
		return nil, err
	}
	if m.tokens, err = newTokens(&m.cfg); err != nil {
		return nil, err
	}
	m.touched.init()
	if m.caps.Has(CanOpen) {
		if err := store.(Opener).Open(context.Background()); err != nil {
			return nil, storeErr("open", err)
		}
	}
	if m.caps.Has(CanGC) && cfg.GCInterval > 0 {
		m.goBackground(func() { m.sweep(cfg.GCInterval) })
	}
	return m, nil
}

// Close stops the background GC, waits for it, and closes the store if it
// has a Close method. It is safe to call more than once.
func (m *Manager) Close() error {
	m.bg.Lock()
	if m.closed {
		m.bg.Unlock()
		return nil
	}
	m.closed = true
	close(m.stop)
	m.bg.Unlock()
	m.wg.Wait()
	if m.caps.Has(CanClose) {
		return m.store.(io.Closer).Close()
	}
	return nil
}

// goBackground runs f in a goroutine that Close waits for, unless the
// Manager is closed.
func (m *Manager) goBackground(f func()) {
	m.bg.Lock()
	defer m.bg.Unlock()
	if m.closed {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// Store returns the Manager's store.
func (m *Manager) Store() Store { return m.store }

// Load starts the session of a request from its headers: the token is
// verified and its ID checked here, but nothing is read from the store until
// the session is used (or at once with Config.EagerLoad). A missing,
// tampered, expired, oversized, wrongly signed or duplicated token gives a
// new, empty session; it is never an error.
func (m *Manager) Load(ctx context.Context, h RequestHeader) *Session {
	s := &Session{m: m, ctx: ctx, state: stateNew}
	id, reason := m.tokens.read(h)
	switch {
	case id != "":
		s.id, s.state = id, stateUnloaded
	case reason != rejectNone:
		m.log.LogAttrs(ctx, slog.LevelInfo, "sessionkit: session token rejected", slog.String("reason", reason))
	}
	if m.cfg.EagerLoad && s.state == stateUnloaded {
		s.mu.Lock()
		m.load(s)
		s.mu.Unlock()
	}
	return s
}

// load reads the session's record; the caller holds s.mu. Strict mode: an
// ID without a live record is never adopted, the session becomes new.
func (m *Manager) load(s *Session) {
	for hops := 0; ; hops++ {
		data, found, err := m.read(s)
		if err != nil {
			s.err = err
			m.log.LogAttrs(s.ctx, slog.LevelError, "sessionkit: session load failed",
				slog.String("session", m.tokens.logID(s.id)), slog.Any("error", err))
			return
		}
		if !found {
			m.reset(s)
			return
		}
		rec, err := decodeRecord(data)
		var values map[string]any
		if err == nil && rec.movedTo == "" {
			values, err = m.decodeValues(rec.payload)
		}
		if err != nil {
			m.log.LogAttrs(s.ctx, slog.LevelWarn, "sessionkit: corrupt session record treated as missing",
				slog.String("session", m.tokens.logID(s.id)), slog.Any("error", err))
			m.reset(s)
			return
		}
		now := time.Now()
		if !now.Before(rec.deadline) {
			m.unlock(s)
			if err := m.store.Destroy(s.ctx, s.id); err != nil {
				m.log.LogAttrs(s.ctx, slog.LevelWarn, "sessionkit: destroying an expired session failed",
					slog.String("session", m.tokens.logID(s.id)), slog.Any("error", err))
			}
			m.reset(s)
			return
		}
		if rec.movedTo != "" {
			// A regenerated session's old ID inside its grace period: follow
			// it once to the new ID and hand the client the new token.
			m.unlock(s)
			if hops > 0 {
				m.reset(s)
				return
			}
			s.id = rec.movedTo
			s.reissue = true
			continue
		}
		s.rec, s.loaded, s.values, s.state = rec, data, values, stateLoaded
		return
	}
}

func (m *Manager) decodeValues(payload []byte) (map[string]any, error) {
	if len(payload) > m.cfg.MaxDataSize {
		return nil, errorf(ErrCorrupt, "record of %d bytes exceeds MaxDataSize", len(payload))
	}
	return m.cfg.Codec.Decode(payload)
}

// read reads s.id, taking the lock first in locking mode.
func (m *Manager) read(s *Session) ([]byte, bool, error) {
	if !m.cfg.Locking || s.readOnly {
		data, found, err := m.store.Read(s.ctx, s.id)
		return data, found, storeErr("read", err)
	}
	ctx, cancel := context.WithTimeout(s.ctx, m.cfg.LockTimeout)
	lock, err := m.store.(Locker).Lock(ctx, s.id)
	timedOut := ctx.Err() != nil
	cancel()
	if err != nil {
		if timedOut {
			return nil, false, errors.Join(ErrLockTimeout, err)
		}
		return nil, false, storeErr("lock", err)
	}
	s.lock = lock
	if lr, ok := lock.(LockedReader); ok {
		data, found, err := lr.Read(s.ctx)
		return data, found, storeErr("read", err)
	}
	data, found, err := m.store.Read(s.ctx, s.id)
	return data, found, storeErr("read", err)
}

// reset turns s into a new, empty session, keeping what commit must still do.
func (m *Manager) reset(s *Session) {
	m.unlock(s)
	s.id, s.state, s.loaded = "", stateNew, nil
	s.values, s.dirty, s.rec = nil, nil, record{}
	s.regenerate = false
}

func (m *Manager) setDeadline(r *record) {
	if r.remember {
		r.deadline = r.created.Add(m.cfg.RememberAbsoluteTimeout)
	} else {
		r.deadline = r.created.Add(m.cfg.AbsoluteTimeout)
	}
}

// expiry is when a record written now should expire: the idle timeout,
// capped by the absolute deadline.
func (m *Manager) expiry(r *record, now time.Time) time.Time {
	idle := m.cfg.IdleTimeout
	if r.remember {
		idle = m.cfg.RememberIdleTimeout
	}
	e := now.Add(idle)
	if r.deadline.Before(e) {
		return r.deadline
	}
	return e
}

// Release unlocks the session if it holds its store lock. The middleware
// calls it after the final Commit; adapters must too.
func (m *Manager) Release(s *Session) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m.unlock(s)
}

func (m *Manager) unlock(s *Session) {
	if s.lock == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 5*time.Second)
	defer cancel()
	if err := s.lock.Unlock(ctx); err != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "sessionkit: unlock failed",
			slog.String("session", m.tokens.logID(s.id)), slog.Any("error", err))
	}
	s.lock = nil
}

// Commit saves the session's changes and writes the token headers to h. Pass
// h == nil once the response headers are gone: the store is still updated,
// but a change that needs a new token is refused with ErrHeadersSent. Commit
// may be called more than once; each call saves what changed since the last.
func (m *Manager) Commit(ctx context.Context, s *Session, h ResponseHeader) error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	err := m.commit(ctx, s, h)
	if err != nil {
		s.err = err
	}
	return err
}

func (m *Manager) commit(ctx context.Context, s *Session, h ResponseHeader) error {
	now := time.Now()
	if s.destroyID != "" {
		if err := m.destroy(ctx, s.destroyID, s.rec.user); err != nil {
			return err
		}
		s.destroyID = ""
		m.unlock(s)
		if s.state == stateNew && len(s.values) == 0 {
			return m.send(s, h, "")
		}
	}
	switch s.state {
	case stateUnloaded:
		return nil // never used: no store call, no header
	case stateNew:
		if len(s.values) == 0 && s.dirty == nil {
			if s.sent || !s.reissue {
				return nil
			}
			return m.send(s, h, "")
		}
		if s.sent || h == nil {
			return ErrHeadersSent
		}
		s.rec.created = now
		m.setDeadline(&s.rec)
		if err := m.create(ctx, s, now); err != nil {
			return err
		}
		return m.send(s, h, s.id)
	}
	if s.readOnly {
		return m.touch(ctx, s, now)
	}
	if s.regenerate {
		if s.sent || h == nil {
			return ErrHeadersSent
		}
		if err := m.regenerate(ctx, s, now); err != nil {
			return err
		}
		return m.send(s, h, s.id)
	}
	changed := s.dirty != nil
	var payload []byte
	if changed || s.maybeMut {
		var err error
		if payload, err = m.cfg.Codec.Encode(s.values); err != nil {
			return err
		}
		_, metaChanged := s.dirty[""]
		changed = metaChanged || !bytes.Equal(payload, mustPayload(s.loaded))
	}
	if !changed {
		s.dirty, s.maybeMut = nil, false
		if err := m.touch(ctx, s, now); err != nil {
			return err
		}
		if s.reissue && !s.sent && h != nil {
			return m.send(s, h, s.id)
		}
		return nil
	}
	if err := m.update(ctx, s, payload, now); err != nil {
		return err
	}
	if s.state == stateNew { // destroyed concurrently: destroy wins
		return m.send(s, h, "")
	}
	if s.reissue && !s.sent && h != nil {
		return m.send(s, h, s.id)
	}
	return nil
}

// send writes the token (or its removal, for id "") once per request.
func (m *Manager) send(s *Session, h ResponseHeader, id string) error {
	if h == nil {
		if id == "" {
			return nil // the record is gone; the stale token is harmless
		}
		return ErrHeadersSent
	}
	var persist time.Duration
	if id != "" && s.rec.remember {
		persist = time.Until(s.rec.deadline)
	}
	if err := m.tokens.emit(h, id, persist, !m.cfg.AllowCaching); err != nil {
		return err
	}
	s.sent, s.reissue = true, false
	return nil
}

// encodeRecord builds the bytes of s's record with payload.
func (m *Manager) encodeRecord(s *Session, payload []byte, now time.Time) ([]byte, error) {
	s.rec.written = now
	s.rec.payload = payload
	data := s.rec.encode()
	s.rec.payload = nil
	if len(data) > m.cfg.MaxDataSize {
		return nil, errorf(ErrTooLarge, "%d bytes, limit %d", len(data), m.cfg.MaxDataSize)
	}
	return data, nil
}

// create stores a new session under a freshly minted ID.
func (m *Manager) create(ctx context.Context, s *Session, now time.Time) error {
	payload, err := m.cfg.Codec.Encode(s.values)
	if err != nil {
		return err
	}
	data, err := m.encodeRecord(s, payload, now)
	if err != nil {
		return err
	}
	expiry := m.expiry(&s.rec, now)
	for attempt := 0; ; attempt++ {
		id, err := m.newID(ctx)
		if err != nil {
			return err
		}
		ok, err := m.createIfAbsent(ctx, id, data, expiry)
		if err != nil {
			return err
		}
		if ok {
			s.id, s.state, s.loaded = id, stateLoaded, data
			s.dirty, s.maybeMut, s.regenerate = nil, false, false
			m.indexUser(ctx, s, expiry)
			m.maybeGC()
			return nil
		}
		if attempt == 2 {
			return storeErr("write", errors.New("three ID collisions in a row"))
		}
	}
}

func (m *Manager) createIfAbsent(ctx context.Context, id string, data []byte, expiry time.Time) (bool, error) {
	if m.caps.Has(CanSwap) {
		ok, err := m.store.(Swapper).Swap(ctx, id, nil, data, expiry)
		return ok, storeErr("write", err)
	}
	return true, storeErr("write", m.store.Write(ctx, id, data, expiry))
}

// newID mints an ID with the store's CreateID when it has one, else with
// the configured generator; a store's ID must pass ValidID.
func (m *Manager) newID(ctx context.Context) (string, error) {
	if m.caps.Has(CanCreateID) {
		id, err := m.store.(IDCreator).CreateID(ctx)
		if err != nil {
			return "", storeErr("create_id", err)
		}
		if !ValidID(id) {
			return "", errorf(ErrInvalidID, "store CreateID returned an ID that fails validation")
		}
		return id, nil
	}
	return m.ids.New()
}

// regenerate moves the session to a new ID, keeping data and deadline.
func (m *Manager) regenerate(ctx context.Context, s *Session, now time.Time) error {
	oldID, oldLock, user := s.id, s.lock, s.rec.user
	s.lock = nil
	if err := m.create(ctx, s, now); err != nil {
		s.lock = oldLock
		s.id = oldID
		return err
	}
	s.regenerate = false
	var err error
	if m.cfg.RegenerateGrace > 0 {
		fwd := record{created: s.rec.created, deadline: s.rec.deadline, written: now, movedTo: s.id}
		err = m.write(ctx, oldID, oldLock, fwd.encode(), now.Add(m.cfg.RegenerateGrace))
	} else {
		err = m.destroy(ctx, oldID, user)
	}
	if oldLock != nil {
		tmp := &Session{ctx: ctx, lock: oldLock}
		m.unlock(tmp)
	}
	return err
}

// write stores data under id, through lock when one is held.
func (m *Manager) write(ctx context.Context, id string, lock Lock, data []byte, expiry time.Time) error {
	if lw, ok := lock.(LockedWriter); ok && lock != nil {
		return storeErr("write", lw.Write(ctx, data, expiry))
	}
	return storeErr("write", m.store.Write(ctx, id, data, expiry))
}

// update writes changed values of a stored session. Under a lock it simply
// writes; without one it compare-and-swaps against what it read, merging
// concurrent changes to other keys and reporting ErrConflict for the same
// key, and never recreating a session destroyed meanwhile.
func (m *Manager) update(ctx context.Context, s *Session, payload []byte, now time.Time) error {
	data, err := m.encodeRecord(s, payload, now)
	if err != nil {
		return err
	}
	expiry := m.expiry(&s.rec, now)
	if s.lock != nil || !m.caps.Has(CanSwap) {
		if err := m.write(ctx, s.id, s.lock, data, expiry); err != nil {
			return err
		}
		m.committed(ctx, s, data, expiry)
		return nil
	}
	sw := m.store.(Swapper)
	for attempt := 0; attempt < 8; attempt++ {
		ok, err := sw.Swap(ctx, s.id, s.loaded, data, expiry)
		if err != nil {
			return storeErr("write", err)
		}
		if ok {
			m.committed(ctx, s, data, expiry)
			return nil
		}
		cur, found, err := m.store.Read(ctx, s.id)
		if err != nil {
			return storeErr("read", err)
		}
		if !found {
			m.log.LogAttrs(ctx, slog.LevelInfo, "sessionkit: session destroyed by a concurrent request; changes dropped",
				slog.String("session", m.tokens.logID(s.id)))
			m.reset(s)
			return nil
		}
		if data, err = m.merge(s, cur, now); err != nil {
			return err
		}
	}
	return storeErr("write", errors.New("session kept changing; gave up after 8 attempts"))
}

// merge rebases s's changed keys onto cur, the record a concurrent request
// stored, and returns the record to write.
func (m *Manager) merge(s *Session, cur []byte, now time.Time) ([]byte, error) {
	theirs, err := decodeRecord(cur)
	if err != nil || theirs.movedTo != "" {
		return nil, errors.Join(ErrConflict, err)
	}
	theirValues, err := m.decodeValues(theirs.payload)
	if err != nil {
		return nil, err
	}
	old, _ := decodeRecord(s.loaded)
	oldValues, err := m.decodeValues(old.payload)
	if err != nil {
		return nil, err
	}
	for k := range s.dirty {
		if k == "" {
			continue
		}
		ov, oldOK := oldValues[k]
		tv, theirOK := theirValues[k]
		if oldOK != theirOK || !reflect.DeepEqual(ov, tv) {
			nv, ourOK := s.values[k]
			if ourOK != theirOK || !reflect.DeepEqual(nv, tv) {
				return nil, errorf(ErrConflict, "key %q", k)
			}
		}
		if v, ok := s.values[k]; ok {
			theirValues[k] = v
		} else {
			delete(theirValues, k)
		}
	}
	s.values = theirValues
	s.loaded = cur
	payload, err := m.cfg.Codec.Encode(s.values)
	if err != nil {
		return nil, err
	}
	return m.encodeRecord(s, payload, now)
}

func (m *Manager) committed(ctx context.Context, s *Session, data []byte, expiry time.Time) {
	s.loaded, s.dirty, s.maybeMut = data, nil, false
	m.indexUser(ctx, s, expiry)
	m.maybeGC()
}

// touch extends an unchanged session's idle expiry, at most once per
// TouchInterval and server (PHP's updateTimestamp, throttled).
func (m *Manager) touch(ctx context.Context, s *Session, now time.Time) error {
	last := s.rec.written
	if t, ok := m.touched.get(s.id); ok && t.After(last) {
		last = t
	}
	if m.cfg.TouchInterval > 0 && now.Sub(last) < m.cfg.TouchInterval {
		return nil
	}
	expiry := m.expiry(&s.rec, now)
	if m.caps.Has(CanTouch) {
		if err := m.store.(Toucher).Touch(ctx, s.id, expiry); err != nil {
			return storeErr("touch", err)
		}
		m.touched.set(s.id, now)
		return nil
	}
	// No Touch: rewrite the record, as PHP calls write() for handlers
	// without updateTimestamp.
	data, err := m.encodeRecord(s, mustPayload(s.loaded), now)
	if err != nil {
		return err
	}
	if err := m.write(ctx, s.id, s.lock, data, expiry); err != nil {
		return err
	}
	m.committed(ctx, s, data, expiry)
	return nil
}

func mustPayload(data []byte) []byte {
	r, _ := decodeRecord(data)
	return r.payload
}

// destroy deletes a stored session and its user-index entry.
func (m *Manager) destroy(ctx context.Context, id, user string) error {
	if err := m.store.Destroy(ctx, id); err != nil {
		return storeErr("destroy", err)
	}
	m.touched.forget(id)
	if user != "" && m.caps.Has(CanIndexUser) {
		if err := m.store.(UserIndex).RemoveUserSession(ctx, user, id); err != nil {
			m.log.LogAttrs(ctx, slog.LevelWarn, "sessionkit: user index update failed", slog.Any("error", err))
		}
	}
	return nil
}

func (m *Manager) indexUser(ctx context.Context, s *Session, expiry time.Time) {
	if s.rec.user == "" || !m.caps.Has(CanIndexUser) {
		return
	}
	if err := m.store.(UserIndex).AddUserSession(ctx, s.rec.user, s.id, expiry); err != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "sessionkit: user index update failed", slog.Any("error", err))
	}
}

// DestroyUser ends every session bound to user with Session.SetUser ("log
// out everywhere"). It needs a store with the UserIndex capability.
func (m *Manager) DestroyUser(ctx context.Context, user string) (int, error) {
	if !m.caps.Has(CanIndexUser) {
		return 0, errorf(ErrConfig, "%T has no UserIndex capability", m.store)
	}
	ids, err := m.store.(UserIndex).UserSessions(ctx, user)
	if err != nil {
		return 0, storeErr("user_sessions", err)
	}
	for _, id := range ids {
		if err := m.destroy(ctx, id, user); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// maybeGC runs the store's GC in the background with the configured
// probability (PHP's gc_probability/gc_divisor).
func (m *Manager) maybeGC() {
	if m.cfg.GCProbability == 0 || !m.caps.Has(CanGC) {
		return
	}
	if rand.IntN(m.cfg.GCDivisor) >= m.cfg.GCProbability {
		return
	}
	m.goBackground(func() { m.runGC(context.Background()) })
}
