package core

import (
	"context"
	"reflect"
	"sort"
	"sync"
	"time"
)

// Session is one request's view of a session. It loads lazily: nothing
// touches the store until the first method that needs the data. All methods
// are safe for concurrent use by the goroutines of one request, and none
// panics, including on a nil *Session.
//
// Methods that change the session do not return errors: a failure (store
// down while loading, read-only session, lock timeout) is latched, reported
// by Err, and turned into the error response before the first byte of the
// response is sent.
type Session struct {
	m   *Manager
	ctx context.Context
	mu  sync.Mutex

	id       string // current ID; "" for a session not yet stored
	state    loadState
	readOnly bool
	err      error

	rec      record         // metadata of the loaded (or new) session
	loaded   []byte         // the record's bytes as read: Swap's "old"
	values   map[string]any // decoded values
	dirty    map[string]struct{}
	maybeMut bool // a mutable value (map, slice) was handed out by Get

	lock       Lock
	regenerate bool   // mint a new ID at commit
	destroyID  string // stored ID to destroy at commit
	reissue    bool   // send the token again (forwarded or remember changed)
	sent       bool   // the token headers went out
}

type loadState uint8

const (
	stateUnloaded loadState = iota // a presented ID, not read yet
	stateLoaded                    // read from the store
	stateNew                       // no stored record (yet)
)

// Flashes live under this key; the leading NUL keeps it out of the way of
// application keys.
const flashKey = "\x00flash"

// ensure loads the session if needed; the caller holds s.mu.
func (s *Session) ensure() bool {
	if s.state == stateUnloaded && s.err == nil {
		s.m.load(s)
	}
	return s.err == nil
}

func (s *Session) writable() bool {
	if !s.ensure() {
		return false
	}
	if s.readOnly {
		s.err = ErrReadOnly
		return false
	}
	return true
}

func (s *Session) markDirty(key string) {
	if s.dirty == nil {
		s.dirty = make(map[string]struct{}, 4)
	}
	s.dirty[key] = struct{}{}
}

// put sets a value; the caller holds s.mu and checked writable.
func (s *Session) put(key string, v any) {
	if s.values == nil {
		s.values = make(map[string]any, 4)
	}
	s.values[key] = v
	s.markDirty(key)
}

// change runs f under the session's mutex if the session loads and may be
// changed; otherwise the failure is latched for Err and the commit.
func (s *Session) change(f func()) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writable() {
		f()
	}
}

// view runs f under the session's mutex once the session is loaded.
func (s *Session) view(f func()) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ensure() {
		f()
	}
}

// Get returns the value stored under key.
func (s *Session) Get(key string) (any, bool) {
	if s == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ensure() {
		return nil, false
	}
	v, ok := s.values[key]
	if ok && !s.maybeMut {
		switch reflect.ValueOf(v).Kind() {
		case reflect.Map, reflect.Slice, reflect.Pointer:
			s.maybeMut = true
		}
	}
	return v, ok
}

// Get returns the value under key as a T. ok is false when the key is
// absent or holds another type.
func Get[T any](s *Session, key string) (v T, ok bool) {
	x, found := s.Get(key)
	if !found {
		return v, false
	}
	v, ok = x.(T)
	return v, ok
}

// Pop returns the value under key as a T and deletes the key.
func Pop[T any](s *Session, key string) (v T, ok bool) {
	v, ok = Get[T](s, key)
	if ok {
		s.Delete(key)
	}
	return v, ok
}

// Has reports whether key is set.
func (s *Session) Has(key string) bool {
	_, ok := s.Get(key)
	return ok
}

// Set stores v under key. v must be a type the Manager's codec accepts (see
// BinaryCodec); an unsupported type is reported at commit.
func (s *Session) Set(key string, v any) {
	s.change(func() { s.put(key, v) })
}

// Delete removes key.
func (s *Session) Delete(key string) {
	s.change(func() {
		if _, ok := s.values[key]; ok {
			delete(s.values, key)
			s.markDirty(key)
		}
	})
}

// Clear removes every key but keeps the session (and its ID).
func (s *Session) Clear() {
	s.change(func() {
		for k := range s.values {
			s.markDirty(k)
		}
		clear(s.values)
	})
}

// Keys returns the application's keys, sorted.
func (s *Session) Keys() (keys []string) {
	s.view(func() {
		keys = make([]string, 0, len(s.values))
		for k := range s.values {
			if k != flashKey {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
	})
	return keys
}

// AddFlash queues a message for the next request that calls Flashes.
func (s *Session) AddFlash(msg string) {
	s.change(func() {
		old, _ := s.values[flashKey].([]string)
		s.put(flashKey, append(old[:len(old):len(old)], msg))
	})
}

// Flashes returns the queued flash messages and removes them.
func (s *Session) Flashes() (msgs []string) {
	s.view(func() {
		msgs, _ = s.values[flashKey].([]string)
		if len(msgs) > 0 && !s.readOnly {
			delete(s.values, flashKey)
			s.markDirty(flashKey)
		}
	})
	return msgs
}

// ID returns the session's ID, or "" while it has none (a new session gets
// its ID when first committed). Log IDHash instead: raw IDs are secrets.
func (s *Session) ID() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure() // a session that failed to load still reports the ID it was asked for
	return s.id
}

// IDHash is a salted hash of the ID, safe to log.
func (s *Session) IDHash() string {
	if s == nil {
		return ""
	}
	return s.m.tokens.logID(s.ID())
}

// IsNew reports whether the session has no stored record yet.
func (s *Session) IsNew() bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	return s.state == stateNew
}

// Created returns when the session was created (zero for a new session).
func (s *Session) Created() time.Time {
	return s.meta(func(r *record) time.Time { return r.created })
}

// LastSeen returns when the session was last written.
func (s *Session) LastSeen() time.Time {
	return s.meta(func(r *record) time.Time { return r.written })
}

// Deadline returns the absolute deadline of the session.
func (s *Session) Deadline() time.Time {
	return s.meta(func(r *record) time.Time { return r.deadline })
}

func (s *Session) meta(f func(*record) time.Time) (t time.Time) {
	s.view(func() { t = f(&s.rec) })
	return t
}

// Remember makes the session persistent ("remember me"): its cookie gets a
// Max-Age and it uses the Remember timeouts, counted from its creation.
func (s *Session) Remember(on bool) {
	s.change(func() {
		if s.rec.remember == on {
			return
		}
		s.rec.remember = on
		s.m.setDeadline(&s.rec)
		s.reissue = true
		s.markDirty("")
	})
}

// Remembered reports whether Remember(true) was called for the session.
func (s *Session) Remembered() (on bool) {
	s.view(func() { on = s.rec.remember })
	return on
}

// SetUser binds the session to a user, so Manager.DestroyUser can end all
// of that user's sessions (with a store that has UserIndex).
func (s *Session) SetUser(user string) {
	s.change(func() {
		if s.rec.user != user {
			s.rec.user = user
			s.markDirty("")
		}
	})
}

// User returns the user bound with SetUser.
func (s *Session) User() (user string) {
	s.view(func() { user = s.rec.user })
	return user
}

// Regenerate gives the session a new ID at commit (call it after login or
// any privilege change): same data, same absolute deadline, the token is
// re-issued and the old ID destroyed or, with Config.RegenerateGrace,
// forwarded to the new one for the grace period.
func (s *Session) Regenerate() {
	s.change(func() { s.regenerate = true })
}

// Destroy ends the session (logout): its record is deleted at commit and
// the token removed from the client. The Session is then empty and new;
// setting values in it starts a fresh session with a fresh ID.
func (s *Session) Destroy() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readOnly {
		s.err = ErrReadOnly
		return
	}
	if s.err != nil {
		return
	}
	if s.id != "" {
		s.destroyID = s.id
	}
	// Keep the lock until the record is gone, so a request waiting for it
	// cannot read the session and write it back after the logout.
	lock := s.lock
	s.lock = nil
	s.m.reset(s)
	s.lock = lock
}

// ReadOnly opens the session without taking its lock and forbids changes,
// like PHP's read_and_close. Call it before anything else touches the
// session; afterwards it returns false and changes nothing.
func (s *Session) ReadOnly() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateUnloaded || s.readOnly {
		return s.readOnly
	}
	s.readOnly = true
	return true
}

// Load loads the session now and reports whether that worked. Handlers that
// must not act on behalf of an anonymous user when the store is down call
// it first (or enable Config.EagerLoad).
func (s *Session) Load() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	return s.err
}

// Err returns the error that broke the session, if any.
func (s *Session) Err() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
