package core

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/stores/memstore"
)

// Manager owns the session lifecycle: it turns a request's token into a
// Session, and a Session's changes into store calls and response headers.
// One Manager serves every request of an application; it is safe for
// concurrent use.
//
// The token (by default a cookie holding the ID signed with
// gorilla/securecookie) is verified and the ID's syntax checked before any
// store call; a bad token of any kind simply means a new session. Strict
// mode is always on: an ID the store does not know is never adopted, new
// IDs are minted server-side only (43 characters of 6 bits, 258 bits from
// crypto/rand, in PHP's ID alphabet). Every ID, presented or minted by a
// store, is MinIDLength to MaxIDLength characters of [A-Za-z0-9,-].
//
// Everything is lazy. A handler that never touches its session costs no
// store call; a new session that stays empty costs no store row and no
// Set-Cookie; an unchanged session is not rewritten — its idle expiry is
// extended with the store's Touch at most once per Config.TouchInterval.
// Changes are committed before the first byte of the response, so the
// cookie always makes it into the headers, and again at the end of the
// request for changes made while streaming. A response whose session was
// used carries Cache-Control: no-store and Vary: Cookie (PHP's nocache
// limiter) unless Config.AllowCaching.
//
// Session.Regenerate (after login) moves the data to a new ID and keeps the
// absolute deadline. The old ID's record becomes a forward to the new one:
// requests that were already under way when the ID moved (another tab's
// XHR, reaching for the session within a second of the move) follow it, and
// so do requests arriving within Config.RegenerateGrace;
// they read and change the new session but are never told its ID, so a
// token planted before the login never leads to the logged-in session
// (OWASP ASVS 7.2.4). Later requests with the old token find a dead token.
// Session.Destroy (logout) deletes the record and expires the cookie;
// through an old token within the grace period it ends the new session
// too. Idle and absolute timeouts are both enforced server-side.
//
// Under concurrency one rule holds for every store: a change is applied
// only against the session as the request loaded it, and a 2xx answer
// means it was. With Config.Locking requests of one session are
// serialised by the store's Lock. Without it, stores that can
// compare-and-swap (Swapper) commit against the bytes the request loaded
// and rebase its changed keys onto a concurrent change: changes to
// different keys both survive, the same key changed twice is ErrConflict
// (409). A logout is final either way: no request that loaded the session
// earlier can write it back. Stores with neither Lock nor Swap get PHP's
// own guarantee: last write wins.
//
// The lifecycle lives in files named after its steps: load.go (token →
// record → Session), commit.go (which step a commit takes), create.go,
// update.go (write, swap and merge), regenerate.go, destroy.go, touch.go
// and lock.go.
type Manager struct {
	cfg    Config
	store  Store
	caps   capSet
	ids    idGenerator
	tokens *tokens
	log    *slog.Logger

	// forwardTTL is how long a regenerated ID's forward record lives:
	// the grace period plus the longest a request already under way may
	// still take to commit.
	forwardTTL time.Duration

	touched  touchCache
	flashKey string

	noSessionLogged atomic.Bool
	noLockLogged    atomic.Bool
	plainHTTPWarned atomic.Bool
	unsavedWarned   atomic.Bool

	// ctx is cancelled by Close: background work (GC) and the cleanup a
	// commit starts run under it.
	ctx       context.Context
	cancel    context.CancelFunc
	bg        sync.Mutex // guards closed and wg.Add
	closed    bool
	wg        sync.WaitGroup
	gcRunning sync.Mutex // one GC at a time
}

// inFlightWindow is how long after a Regenerate the requests that were
// already under way may still follow the old ID to the new one (besides
// RegenerateGrace, which also admits requests that start later).
const inFlightWindow = time.Minute

// New returns a Manager over store with cfg. A nil store means an in-memory
// store (stores/memstore). The store's Open capability is called here, and
// a background GC is started for stores that have one; Close stops it.
//
// New fails with ErrConfig for an invalid cfg, for Locking over a store
// that cannot lock, and for a shared or persistent store (anything but
// memstore) without Config.Keys: with a per-process random key every
// restart, and every other server behind a load balancer, would log its
// users out.
func New(store Store, cfg Config) (*Manager, error) {
	cfg.Keys = append([][]byte(nil), cfg.Keys...)
	cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if store == nil {
		store = memstore.New(memstore.Options{})
	}
	if _, inMemory := store.(*memstore.Store); !inMemory && len(cfg.Keys) == 0 && cfg.Transport != TransportRawCookie {
		return nil, errorf(ErrConfig, "Keys are required with %T: a random per-process key would log users out on every restart and on every other server", store)
	}
	m := &Manager{cfg: cfg, store: store, log: cfg.Logger}
	m.caps.init(capabilitiesOf(store))
	m.forwardTTL = cfg.RegenerateGrace + max(cfg.LockTimeout, inFlightWindow)
	m.flashKey = envelopeFlashKey
	if cfg.PlainRecords {
		m.flashKey = plainFlashKey
	}
	if cfg.Locking && !m.caps.has(canLock) {
		return nil, errorf(ErrConfig, "Locking needs a store that can lock; %T cannot", store)
	}
	var err error
	if m.ids, err = newIDGenerator(cfg.IDLength, cfg.IDBitsPerChar, nil); err != nil {
		return nil, err
	}
	if m.tokens, err = newTokens(&m.cfg); err != nil {
		return nil, err
	}
	m.touched.init()
	if m.caps.has(canOpen) {
		if err := store.(Opener).Open(context.Background()); err != nil && !m.unsupported(context.Background(), err, canOpen) {
			return nil, storeErr("open", err)
		}
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if m.caps.has(canGC) && cfg.GCInterval > 0 {
		m.goBackground(func() { m.sweep(cfg.GCInterval) })
	}
	return m, nil
}

// Close cancels the Manager's background work (the GC sweeper, a GC a
// commit started), waits for it to return, and closes the store if it has
// a Close method. It is safe to call more than once.
func (m *Manager) Close() error {
	m.bg.Lock()
	if m.closed {
		m.bg.Unlock()
		return nil
	}
	m.closed = true
	m.cancel()
	m.bg.Unlock()
	m.wg.Wait()
	if m.caps.has(canClose) {
		if err := m.store.(io.Closer).Close(); !m.unsupported(context.Background(), err, canClose) {
			return err
		}
	}
	return nil
}

// goBackground runs f in a goroutine that Close cancels (through m.ctx)
// and waits for, unless the Manager is closed.
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

// follows reports whether s, which presented or reached an ID that rec
// says was regenerated, may follow it to the new ID: when it started
// before the move (a parallel request of the same user), or within
// Config.RegenerateGrace after it. Later requests find a dead token, so a
// token planted before a login never reaches the logged-in session.
func (m *Manager) follows(s *Session, rec *record) bool {
	return s.start.Before(rec.written.Add(m.cfg.RegenerateGrace))
}

func (m *Manager) logError(ctx context.Context, msg, id string, err error) {
	m.log.LogAttrs(ctx, slog.LevelError, msg, slog.String("session", m.tokens.logID(id)), slog.Any("error", err))
}

func (m *Manager) logWarn(ctx context.Context, msg, id string, err error) {
	m.log.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("session", m.tokens.logID(id)), slog.Any("error", err))
}
