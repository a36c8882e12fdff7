package core

import (
	"context"
	"fmt"
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
	m     *Manager
	ctx   context.Context
	mu    sync.Mutex
	outer *Session // the session of an enclosing Manager in the context
	start time.Time

	// id is the ID the client holds ("" for a session not yet stored);
	// target is where the session's record is: the same ID, or the newer
	// ID a concurrent Regenerate moved the session to (then the client
	// never learns it).
	id, target string
	err        error

	rec    record         // metadata of the loaded (or new) session
	loaded []byte         // the record's bytes as read: the base of Swap and merge
	values map[string]any // decoded values (see lazy)
	dirty  map[string]struct{}
	handed map[string]*handedValue // values Get handed out by reference (handed.go)

	lock       Lock
	ending     *ending        // the stored session Destroy ends at commit
	cacheVals  [2]string      // backing of the no-store header values
	cookieVals [1]string      // backing of the Set-Cookie header value
	ctxv       sessionContext // the first context newContext made for it

	// changes counts the handler's calls that change the session, and
	// committed what the last commit saw: Release warns of changes no
	// commit saved (a goroutine that outlived the response).
	changes, committed uint32

	// The flags, together so that they pack (Handler allocates a Session
	// per request).
	state      loadState
	readOnly   bool
	used       bool  // the handler asked for the session: answer with no-store
	lazy       bool  // values are still encoded in rec.payload: use vals, or lookup for one key
	lookups    uint8 // lookups of single values so far (maxLookups)
	metaDirty  bool  // Remember or SetUser changed the record's header
	regenerate bool  // mint a new ID at commit
	reissue    bool  // send the token again (Remember changed)
	tokenSent  bool  // the token headers went out
	cacheSent  bool  // the no-store headers went out
	headersOut bool  // a commit ran for the response headers: no new token can be sent
	extended   bool  // a commit of this request stored the session or considered touching it
	ended      bool  // Release ran: the request is over
	commits    bool  // a commit ran
}

type loadState uint8

const (
	stateUnloaded loadState = iota // a presented ID, not read yet
	stateLoaded                    // read from the store
	stateNew                       // no stored record (yet)
)

// errEnded is latched by a session used after its request ended (a
// handler's goroutine, or Fiber's body stream writer): nothing it changes
// can be stored any more, and it must take no lock.
var errEnded = fmt.Errorf("%w: session used after its request ended", ErrHeadersSent)

// ensure loads the session if needed; the caller holds s.mu.
func (s *Session) ensure() bool {
	if s.err != nil {
		return false
	}
	if s.ended {
		s.err = errEnded
		return false
	}
	s.used = true
	if s.state == stateUnloaded {
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

// needsToken latches ErrHeadersSent for a change that needs a new token
// (a new session's first value, a regeneration) once the response headers
// are gone, so that the handler sees it in Err at once.
func (s *Session) needsToken() bool {
	if s.headersOut {
		s.err = errorf(ErrHeadersSent, "the change needs a new session token")
		return false
	}
	return true
}

func (s *Session) markDirty(key string) {
	delete(s.handed, key) // changed outright: its value is the one to store
	if s.dirty == nil {
		s.dirty = make(map[string]struct{}, 4)
	}
	s.dirty[key] = struct{}{}
}

// put sets a value; the caller holds s.mu and checked writable.
func (s *Session) put(key string, v any) {
	if key == MetaKey && s.m.cfg.PlainRecords {
		s.err = errorf(ErrUnsupportedType, "%s is reserved for sessionkit's metadata", MetaKey)
		return
	}
	if s.state == stateNew && !s.needsToken() {
		return
	}
	if s.vals() == nil {
		if s.err != nil {
			return
		}
		s.values = make(map[string]any, 4)
	}
	s.values[key] = v
	if s.state != stateNew { // a new session is written whole: no need to track keys
		s.markDirty(key)
	}
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
		s.changes++
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

// Get returns the value stored under key. A map, slice, pointer or struct
// holding one is the session's own: a change made through it is saved at
// commit as a Set of key would be (merged with a concurrent request's
// changes to other keys, ErrConflict against one to the same key).
func (s *Session) Get(key string) (any, bool) {
	if s == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ensure() {
		return nil, false
	}
	if s.lazy && s.lookups < maxLookups {
		s.lookups++
		if v, found, byRef := (BinaryCodec{}).lookup(s.rec.payload, key); !byRef {
			return v, found
		}
	}
	v, ok := s.vals()[key]
	if ok && !byValue(v) {
		s.hand(key, v) // the caller may change it in place: commit compares
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
		if _, ok := s.vals()[key]; ok {
			delete(s.values, key)
			s.markDirty(key)
		}
	})
}

// Clear removes every key but keeps the session (and its ID).
func (s *Session) Clear() {
	s.change(func() {
		for k := range s.vals() {
			s.markDirty(k)
		}
		clear(s.values)
	})
}

// Keys returns the application's keys, sorted.
func (s *Session) Keys() (keys []string) {
	s.view(func() {
		keys = make([]string, 0, len(s.vals()))
		for k := range s.values {
			if k != s.m.flashKey {
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
		old := flashes(s.vals()[s.m.flashKey])
		s.put(s.m.flashKey, append(old[:len(old):len(old)], msg))
	})
}

// Flashes returns the queued flash messages and removes them.
func (s *Session) Flashes() (msgs []string) {
	s.view(func() {
		if s.lazy {
			if _, found, _ := (BinaryCodec{}).lookup(s.rec.payload, s.m.flashKey); !found {
				return // none queued: nothing to decode
			}
		}
		msgs = flashes(s.vals()[s.m.flashKey])
		if len(msgs) > 0 && !s.readOnly {
			delete(s.values, s.m.flashKey)
			s.markDirty(s.m.flashKey)
		}
	})
	return msgs
}

// ID returns the ID the client holds, or "" while the session has none (a
// new session gets its ID when first committed). It does not load the
// session: before the first load it is the ID of the presented token, not
// yet checked against the store. A request whose session a parallel
// request regenerated keeps seeing the old ID; the new one is never
// revealed to it. Log IDHash instead: raw IDs are secrets.
func (s *Session) ID() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// IDHash is a salted hash of ID, safe to log; "" while there is no ID. It
// does not load the session.
func (s *Session) IDHash() string {
	if s == nil {
		return ""
	}
	return s.m.tokens.logID(s.ID())
}

// IsNew reports whether the session has no stored record yet. It does not
// load the session: before the first load it reports whether the request
// came without a usable token; once loaded, whether the store held the
// session (strict mode makes an unknown ID a new session).
func (s *Session) IsNew() bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateNew
}

// Created returns when the session was created (zero for a new session).
func (s *Session) Created() time.Time {
	return s.meta(func(r *record) time.Time { return r.created })
}

// LastSeen returns when the session's record was last written: by the last
// request that changed it, or — over a store without Touch — that extended
// its idle expiry by rewriting it. A request that only reads the session
// does not move it, so it can be older than the user's last request.
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
		s.reissue = s.id == s.target // a forwarded request never sends a token
		s.metaDirty = true
	})
}

// Remembered reports whether Remember(true) was called for the session.
func (s *Session) Remembered() (on bool) {
	s.view(func() { on = s.rec.remember })
	return on
}

// SetUser binds the session to a user (at most 1024 bytes), so
// Manager.DestroyUser can end all of that user's sessions (with a store
// that has UserIndex). A longer name latches ErrUnsupportedType.
func (s *Session) SetUser(user string) {
	s.change(func() {
		if len(user) > maxUserLength {
			s.err = errorf(ErrUnsupportedType, "user name of %d bytes, limit %d", len(user), maxUserLength)
			return
		}
		if s.rec.user != user {
			s.rec.user = user
			s.metaDirty = true
		}
	})
}

// User returns the user bound with SetUser.
func (s *Session) User() (user string) {
	s.view(func() { user = s.rec.user })
	return user
}

// Regenerate gives the session a new ID at commit (call it after login or
// any privilege change; OWASP ASVS 7.2.4): same data, same absolute
// deadline, the token is re-issued and the old ID ends — at once, or after
// Config.RegenerateGrace — so a token planted before the login never
// reaches the logged-in session afterwards. Requests of other tabs that
// were already under way keep working: their changes land in the new
// session, and they never learn its ID. One that first reaches for its
// session more than a second after the move (plus the grace) — held open
// on purpose, say — finds the old token dead instead.
//
// A request that reached its session through an ID a parallel request
// regenerated cannot regenerate it again: that would hand the old token's
// holder a fresh token to the session. Its Err reports ErrConflict.
func (s *Session) Regenerate() {
	s.change(func() {
		switch {
		case s.id != s.target && s.state == stateLoaded:
			s.err = errorf(ErrConflict, "the session was regenerated by a concurrent request")
		case s.needsToken():
			s.regenerate = true
		}
	})
}

// Destroy ends the session (logout): at commit its record is deleted and
// the token removed from the client. A logout is final: no request that
// loaded the session earlier can write it back or move it to a new ID
// (see the package doc). The Session is then empty and new; setting
// values in it starts a fresh session with a fresh ID.
func (s *Session) Destroy() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
		return
	case s.ended:
		s.err = errEnded
		return
	case s.readOnly:
		s.err = ErrReadOnly
		return
	}
	s.used = true
	s.changes++
	if s.id != "" && s.ending == nil {
		// The commit ends the stored session under its lock (so a request
		// waiting for the lock cannot read the session and write it back)
		// or with a compare-and-swap against what it loads.
		e := &ending{id: s.id, lock: s.lock}
		if s.state == stateLoaded {
			e.target, e.loaded = s.target, s.loaded
		}
		s.ending, s.lock = e, nil
	}
	s.m.reset(s)
}

// ending is a stored session that Destroy ends at commit.
type ending struct {
	id     string // the ID the client holds
	target string // where its record was when loaded; "" if not loaded
	loaded []byte // the bytes loaded at target: the base of the swap
	lock   Lock   // the lock held on target, if any
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

// flashes reads the stored flash list: []string as sessionkit writes it,
// or the []any of strings a codec such as PHP's or JSON gives back.
func flashes(v any) []string {
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, x := range l {
			if m, ok := x.(string); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// maxLookups is how many values Get decodes one by one from a lazy
// session (each lookup walks the record) before it decodes the whole map:
// a handler that reads many keys pays one decode, not a walk per key.
const maxLookups = 4

// vals returns the session's values, decoding them now if the load left
// them encoded (lazy); the caller holds s.mu. check accepted the bytes and
// refuses exactly what Decode refuses (FuzzBinaryCodecLookup), so decoding
// cannot fail short of a bug; if it does, the session fails with
// ErrCorrupt and nothing is committed.
func (s *Session) vals() map[string]any {
	if s.lazy {
		s.lazy = false
		values, err := s.m.cfg.Codec.Decode(s.rec.payload)
		if err != nil {
			s.err = wrapCorrupt(err)
		}
		s.values = values
	}
	return s.values
}
