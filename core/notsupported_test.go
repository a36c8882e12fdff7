package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// bareStore is the three required methods over a map, counting writes.
type bareStore struct {
	mu     sync.Mutex
	recs   map[string]bareRec
	writes int
}

type bareRec struct {
	data   []byte
	expiry time.Time
}

func newBareStore() *bareStore { return &bareStore{recs: map[string]bareRec{}} }

func (s *bareStore) Read(_ context.Context, id string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok || !time.Now().Before(r.expiry) {
		return nil, false, nil
	}
	return bytes.Clone(r.data), true, nil
}

func (s *bareStore) Write(_ context.Context, id string, data []byte, expiry time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.recs[id] = bareRec{bytes.Clone(data), expiry}
	return nil
}

func (s *bareStore) Destroy(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, id)
	return nil
}

func (s *bareStore) writeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// unsupporting is a user's wrapper around a store that has only the
// required methods: it has every optional method, and each answers
// core.ErrNotSupported. It counts those calls.
type unsupporting struct {
	core.Store
	mu    sync.Mutex
	calls map[string]int
}

func (u *unsupporting) no(method string) error {
	u.mu.Lock()
	u.calls[method]++
	u.mu.Unlock()
	return fmt.Errorf("wrapper: inner store has no %s: %w", method, core.ErrNotSupported)
}

func (u *unsupporting) count(method string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[method]
}

func (u *unsupporting) Touch(context.Context, string, time.Time) error { return u.no("Touch") }
func (u *unsupporting) Exists(context.Context, string) (bool, error)   { return false, u.no("Exists") }
func (u *unsupporting) CreateID(context.Context) (string, error)       { return "", u.no("CreateID") }
func (u *unsupporting) GC(context.Context, time.Time) (int, error)     { return 0, u.no("GC") }
func (u *unsupporting) Lock(context.Context, string) (core.Lock, error) {
	return nil, u.no("Lock")
}
func (u *unsupporting) Swap(context.Context, string, []byte, []byte, time.Time) (bool, error) {
	return false, u.no("Swap")
}
func (u *unsupporting) AddUserSession(context.Context, string, string, time.Time) error {
	return u.no("UserIndex")
}
func (u *unsupporting) RemoveUserSession(context.Context, string, string) error {
	return u.no("UserIndex")
}
func (u *unsupporting) UserSessions(context.Context, string) ([]string, error) {
	return nil, u.no("UserIndex")
}

var (
	_ core.Toucher   = (*unsupporting)(nil)
	_ core.Exister   = (*unsupporting)(nil)
	_ core.IDCreator = (*unsupporting)(nil)
	_ core.Collector = (*unsupporting)(nil)
	_ core.Locker    = (*unsupporting)(nil)
	_ core.Swapper   = (*unsupporting)(nil)
	_ core.UserIndex = (*unsupporting)(nil)
)

// fallbackStores are the two shapes of a store that has a method but not
// the capability: a FuncStore of the required functions only, and a
// wrapper whose optional methods answer ErrNotSupported. wrapper is nil
// for the FuncStore.
func fallbackStores(t *testing.T) []struct {
	name    string
	backing *bareStore
	store   core.Store
	wrapper *unsupporting
} {
	t.Helper()
	fsBacking := newBareStore()
	fs, err := core.FuncStore(core.Funcs{Read: fsBacking.Read, Write: fsBacking.Write, Destroy: fsBacking.Destroy})
	if err != nil {
		t.Fatal(err)
	}
	wBacking := newBareStore()
	w := &unsupporting{Store: wBacking, calls: map[string]int{}}
	return []struct {
		name    string
		backing *bareStore
		store   core.Store
		wrapper *unsupporting
	}{
		{"FuncStore", fsBacking, fs, nil},
		{"Wrapper", wBacking, w, w},
	}
}

// request runs one request through m's adapter primitives: the session of
// token (none when ""), f, the commit. It returns the token the response
// set ("" when none) and the commit's error.
func request(m *core.Manager, token string, f func(s *core.Session)) (string, error) {
	a := m.Adapter()
	in := http.Header{}
	if token != "" {
		in.Set("Cookie", "sid="+token)
	}
	ctx := context.Background()
	s := a.Load(ctx, in)
	defer a.Release(s)
	f(s)
	out := http.Header{}
	err := a.Commit(ctx, s, out)
	for _, c := range out.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(c, "sid="); ok {
			token, _, _ = strings.Cut(v, ";")
		}
	}
	return token, err
}

func fallbackManager(t *testing.T, store core.Store, cfg core.Config) *core.Manager {
	t.Helper()
	cfg.Keys = [][]byte{testKey}
	cfg.Cookie.Insecure = true
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	m, err := core.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestNotSupportedFallbacks checks that every optional method answering
// ErrNotSupported (Swap, Exists, CreateID on create; Swap on update,
// Regenerate and Destroy; the user index; GC) leaves the Manager working as
// over a store without the method, and that the Manager stops calling a
// method once it said so.
func TestNotSupportedFallbacks(t *testing.T) {
	for _, tc := range fallbackStores(t) {
		t.Run(tc.name, func(t *testing.T) {
			m := fallbackManager(t, tc.store, core.Config{})
			ctx := context.Background()
			tok, err := request(m, "", func(s *core.Session) {
				s.Set("n", 1)
				s.SetUser("bob")
			})
			if err != nil || tok == "" {
				t.Fatalf("create: token %q, err %v", tok, err)
			}
			second, err := request(m, "", func(s *core.Session) { s.Set("n", 10) })
			if err != nil || second == "" || second == tok {
				t.Fatalf("second create: token %q, err %v", second, err)
			}
			if _, err := request(m, tok, func(s *core.Session) {
				n, _ := core.Get[int](s, "n")
				s.Set("n", n+1)
			}); err != nil {
				t.Fatalf("update: %v", err)
			}
			moved, err := request(m, tok, func(s *core.Session) { s.Regenerate() })
			if err != nil || moved == "" || moved == tok {
				t.Fatalf("regenerate: token %q, err %v", moved, err)
			}
			var n int
			if _, err := request(m, moved, func(s *core.Session) { n, _ = core.Get[int](s, "n") }); err != nil || n != 2 {
				t.Fatalf("after regenerate: n = %d, err %v; want 2", n, err)
			}
			if _, err := request(m, moved, func(s *core.Session) { s.Destroy() }); err != nil {
				t.Fatalf("destroy: %v", err)
			}
			var isNew bool
			if _, err := request(m, moved, func(s *core.Session) { _ = s.Load(); isNew = s.IsNew() }); err != nil || !isNew {
				t.Fatalf("after destroy: new = %v, err %v; want a new session", isNew, err)
			}
			if removed, err := m.GC(ctx); removed != 0 || err != nil {
				t.Fatalf("GC = %d, %v; want 0, nil", removed, err)
			}
			if _, err := m.DestroyUser(ctx, "bob"); !errors.Is(err, core.ErrConfig) {
				t.Fatalf("DestroyUser: err = %v, want ErrConfig (no user index)", err)
			}
			if _, err := m.UserSessions(ctx, "bob"); !errors.Is(err, core.ErrConfig) {
				t.Fatalf("UserSessions: err = %v, want ErrConfig (no user index)", err)
			}
			if tc.wrapper != nil {
				for _, method := range []string{"Swap", "Exists", "CreateID", "GC", "UserIndex"} {
					if n := tc.wrapper.count(method); n != 1 {
						t.Errorf("%s was called %d times, want once: the Manager remembers ErrNotSupported", method, n)
					}
				}
			}
		})
	}
}

// TestNotSupportedTouch checks the Touch fallback: an unchanged session
// due for its idle extension (TouchInterval < 0: on every request) is
// rewritten, as over a store without Touch.
func TestNotSupportedTouch(t *testing.T) {
	for _, tc := range fallbackStores(t) {
		t.Run(tc.name, func(t *testing.T) {
			m := fallbackManager(t, tc.store, core.Config{TouchInterval: -1})
			tok, err := request(m, "", func(s *core.Session) { s.Set("k", "v") })
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 2; i++ {
				before := tc.backing.writeCount()
				if _, err := request(m, tok, func(s *core.Session) { _, _ = s.Get("k") }); err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				if got := tc.backing.writeCount() - before; got != 1 {
					t.Fatalf("read %d wrote %d times, want 1 (the rewrite that stands in for Touch)", i, got)
				}
			}
			if tc.wrapper != nil && tc.wrapper.count("Touch") != 1 {
				t.Fatalf("Touch was called %d times, want once", tc.wrapper.count("Touch"))
			}
		})
	}
}

// TestNotSupportedLock checks Locking over stores that cannot lock: New
// refuses a FuncStore (core can tell); a wrapper whose Lock answers
// ErrNotSupported is a configuration error at request time (500), logged
// once.
func TestNotSupportedLock(t *testing.T) {
	stores := fallbackStores(t)
	if _, err := core.New(stores[0].store, core.Config{Keys: [][]byte{testKey}, Locking: true}); !errors.Is(err, core.ErrConfig) {
		t.Fatalf("New(FuncStore without Lock, Locking): err = %v, want ErrConfig", err)
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, nil))
	m := fallbackManager(t, stores[1].store, core.Config{Locking: true, Logger: logger})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Set("k", "v")
		fmt.Fprint(w, "handler output")
	}))
	// A new session has nothing to lock; the next requests load it.
	first := httptest.NewRecorder()
	h.ServeHTTP(first, httptest.NewRequest(http.MethodGet, "/", nil))
	cookie := first.Header().Get("Set-Cookie")
	if first.Code != http.StatusOK || cookie == "" {
		t.Fatalf("new session: %d, Set-Cookie %q", first.Code, cookie)
	}
	cookie, _, _ = strings.Cut(cookie, ";")
	for i := 0; i < 2; i++ {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", cookie)
		h.ServeHTTP(w, r)
		if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "handler output") {
			t.Fatalf("request %d: %d %q, want 500 without the handler's output", i, w.Code, w.Body.String())
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if n := strings.Count(logs.String(), "the store cannot lock"); n != 1 {
		t.Fatalf("the configuration error was logged %d times, want once:\n%s", n, logs.String())
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
