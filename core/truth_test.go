package core_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// newSession commits a session holding n=1 in m and returns its cookie
// header value.
func newSession(t *testing.T, m *core.Manager) string {
	t.Helper()
	s := m.Adapter().Load(context.Background(), http.Header{})
	s.Set("n", 1)
	h := http.Header{}
	if err := m.Adapter().Commit(context.Background(), s, h); err != nil {
		t.Fatal(err)
	}
	return strings.SplitN(h.Get("Set-Cookie"), ";", 2)[0]
}

// ID, IDHash and IsNew answer from what the request knows: no store call,
// no lock.
func TestReadOnlyAccessorsDoNotLoad(t *testing.T) {
	store := storetest.NewCounting(memstore.New(memstore.Options{}))
	m, err := core.New(store, core.Config{Keys: [][]byte{testKey}, Cookie: core.CookieConfig{Insecure: true}, Locking: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cookie := newSession(t, m)
	before := store.Calls()
	s := m.Adapter().Load(context.Background(), http.Header{"Cookie": {cookie}})
	if s.ID() == "" || s.IDHash() == "" || s.IsNew() {
		t.Fatalf("ID %q, IDHash %q, IsNew %v for a presented token", s.ID(), s.IDHash(), s.IsNew())
	}
	if n := store.Calls() - before; n != 0 {
		t.Fatalf("ID, IDHash and IsNew made %d store calls (reads or locks), want 0", n)
	}
	m.Adapter().Release(s)
	anon := m.Adapter().Load(context.Background(), http.Header{})
	if anon.ID() != "" || anon.IDHash() != "" || !anon.IsNew() {
		t.Fatalf("anonymous request: ID %q, IDHash %q, IsNew %v", anon.ID(), anon.IDHash(), anon.IsNew())
	}
}

// A new session whose changes cancel out costs no row and no cookie.
func TestLazyCreateExactly(t *testing.T) {
	for name, do := range map[string]func(s *core.Session){
		"SetThenDelete":       func(s *core.Session) { s.Set("a", 1); s.Delete("a") },
		"FlashThenRead":       func(s *core.Session) { s.AddFlash("hi"); s.Flashes() },
		"SetThenClear":        func(s *core.Session) { s.Set("a", 1); s.Set("b", 2); s.Clear() },
		"RememberOnlyNothing": func(s *core.Session) { s.Remember(true) },
	} {
		t.Run(name, func(t *testing.T) {
			store := storetest.NewCounting(memstore.New(memstore.Options{}))
			m, err := core.New(store, core.Config{Keys: [][]byte{testKey}, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s := m.Adapter().Load(context.Background(), http.Header{})
			do(s)
			h := http.Header{}
			if err := m.Adapter().Commit(context.Background(), s, h); err != nil {
				t.Fatal(err)
			}
			if w := store.WritesAll(); w != 0 || h.Get("Set-Cookie") != "" {
				t.Fatalf("%d writes, Set-Cookie %q; want none", w, h.Get("Set-Cookie"))
			}
		})
	}
}

// DestroyUser counts exactly the live sessions it ended: not one already
// logged out, not one rebound to another user.
func TestDestroyUserCountsLiveSessionsOnly(t *testing.T) {
	for _, locking := range []bool{false, true} {
		t.Run(fmt.Sprintf("Locking=%v", locking), func(t *testing.T) {
			m, err := core.New(nil, core.Config{Keys: [][]byte{testKey}, Locking: locking, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			ctx := context.Background()
			bind := func(user string) string {
				s := m.Adapter().Load(ctx, http.Header{})
				s.SetUser(user)
				s.Set("x", 1)
				h := http.Header{}
				if err := m.Adapter().Commit(ctx, s, h); err != nil {
					t.Fatal(err)
				}
				m.Adapter().Release(s)
				return strings.SplitN(h.Get("Set-Cookie"), ";", 2)[0]
			}
			do := func(cookie string, f func(*core.Session)) {
				s := m.Adapter().Load(ctx, http.Header{"Cookie": {cookie}})
				f(s)
				if err := m.Adapter().Commit(ctx, s, http.Header{}); err != nil {
					t.Fatal(err)
				}
				m.Adapter().Release(s)
			}
			bob1, bob2, bob3 := bind("bob"), bind("bob"), bind("bob")
			bind("carol")
			do(bob1, func(s *core.Session) { s.Destroy() })                   // logged out already
			do(bob2, func(s *core.Session) { s.SetUser("dave") })             // no longer bob's
			do(bob3, func(s *core.Session) { s.Set("y", 2); s.Regenerate() }) // moved, still bob's
			n, err := m.DestroyUser(ctx, "bob")
			if err != nil || n != 1 {
				t.Fatalf("DestroyUser(bob) = %d, %v; want exactly the 1 live session", n, err)
			}
			if n, err := m.DestroyUser(ctx, "dave"); err != nil || n != 1 {
				t.Fatalf("DestroyUser(dave) = %d, %v; want 1", n, err)
			}
			if n, err := m.DestroyUser(ctx, "carol"); err != nil || n != 1 {
				t.Fatalf("DestroyUser(carol) = %d, %v; want 1", n, err)
			}
		})
	}
}

// DestroyUser while a request holds the session's lock waits for it, so
// that request cannot write the session back afterwards.
func TestDestroyUserDuringLockedRequest(t *testing.T) {
	release := make(chan struct{})
	loaded := make(chan struct{})
	h := newHarness(t, core.Config{Locking: true}, func(mux *http.ServeMux) {
		counterRoutes(mux)
		mux.HandleFunc("/bind", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			s.SetUser("bob")
			s.Set("user", "bob")
		})
		mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			n, _ := core.Get[int](s, "n")
			close(loaded)
			<-release
			s.Set("n", n+1)
		})
	})
	h.get("/bind")
	cookie := h.cookie()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.get("/slow")
	}()
	<-loaded
	destroyed := make(chan int)
	go func() {
		n, err := h.m.DestroyUser(context.Background(), "bob")
		if err != nil {
			t.Errorf("DestroyUser: %v", err)
		}
		destroyed <- n
	}()
	select {
	case n := <-destroyed:
		t.Fatalf("DestroyUser returned %d while a request held the session's lock", n)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-done
	if n := <-destroyed; n != 1 {
		t.Fatalf("DestroyUser ended %d sessions, want 1", n)
	}
	if _, u, _ := h.get("/user", "Cookie", "sid="+cookie); u != "" {
		t.Fatalf("the session came back after DestroyUser: user %q", u)
	}
}

// A store's CreateID is held to the same rules as the Manager's own IDs.
func TestStoreMintedIDsMustBeStrong(t *testing.T) {
	db := map[string][]byte{}
	var mu sync.Mutex
	funcs := core.Funcs{
		Read: func(_ context.Context, id string) ([]byte, bool, error) {
			mu.Lock()
			defer mu.Unlock()
			b, ok := db[id]
			return b, ok, nil
		},
		Write: func(_ context.Context, id string, data []byte, _ time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			db[id] = append([]byte(nil), data...)
			return nil
		},
		Destroy: func(_ context.Context, id string) error {
			mu.Lock()
			defer mu.Unlock()
			delete(db, id)
			return nil
		},
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{strings.Repeat("a", 16), false},                                   // too short for any ID
		{strings.Repeat("0123456789abcdef", 2)[:30], false},                // hex: 120 bits
		{strings.Repeat("0123456789abcdef", 2), true},                      // hex: 128 bits
		{strings.Repeat("0123456789abcdefghijklmnopqrstuv", 1)[:26], true}, // 5 bits: 130
		{strings.Repeat("aZ", 11), true},                                   // 6 bits: 132
		{strings.Repeat("a", 251), false},                                  // longer than any store keeps
	} {
		f := funcs
		f.CreateID = func(context.Context) (string, error) { return tc.id, nil }
		store, err := core.FuncStore(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := core.New(store, core.Config{Keys: [][]byte{testKey}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		s := m.Adapter().Load(context.Background(), http.Header{})
		s.Set("n", 1)
		err = m.Adapter().Commit(context.Background(), s, http.Header{})
		if got := err == nil; got != tc.want {
			t.Errorf("store ID %q (%d chars): commit error %v, want accepted=%v", tc.id, len(tc.id), err, tc.want)
		}
		if err != nil && !errors.Is(err, core.ErrInvalidID) {
			t.Errorf("store ID %q: error %v does not wrap ErrInvalidID", tc.id, err)
		}
		m.Close()
	}
}

// A store that mints an ID already in use never overwrites that session,
// even without Swap: the Manager asks the store (Exists, PHP's validateId,
// or Read) first.
func TestCollidingStoreIDNeverOverwrites(t *testing.T) {
	const fixed = "fixedfixedfixedfixedfixed0123456789ABCD"
	for _, withExists := range []bool{false, true} {
		t.Run(fmt.Sprintf("Exists=%v", withExists), func(t *testing.T) {
			inner := memstore.New(memstore.Options{})
			existsCalls := 0
			f := core.Funcs{
				Read:     inner.Read,
				Write:    inner.Write,
				Destroy:  inner.Destroy,
				CreateID: func(context.Context) (string, error) { return fixed, nil },
			}
			if withExists {
				f.Exists = func(ctx context.Context, id string) (bool, error) {
					existsCalls++
					_, found, err := inner.Read(ctx, id)
					return found, err
				}
			}
			store, _ := core.FuncStore(f)
			m, err := core.New(store, core.Config{Keys: [][]byte{testKey}, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			first := m.Adapter().Load(context.Background(), http.Header{})
			first.Set("owner", "first")
			if err := m.Adapter().Commit(context.Background(), first, http.Header{}); err != nil {
				t.Fatal(err)
			}
			second := m.Adapter().Load(context.Background(), http.Header{})
			second.Set("owner", "second")
			if err := m.Adapter().Commit(context.Background(), second, http.Header{}); !errors.Is(err, core.ErrStore) {
				t.Fatalf("a second session on a colliding ID: %v, want a store error", err)
			}
			again := m.Adapter().Load(context.Background(), http.Header{"Cookie": {"__Host-sid=" + mustSign(t, "__Host-sid", fixed)}})
			if o, _ := core.Get[string](again, "owner"); o != "first" {
				t.Fatalf("the first session now belongs to %q", o)
			}
			if withExists && existsCalls == 0 {
				t.Fatal("the store's Exists (validateId) was never asked")
			}
		})
	}
}

func mustSign(t *testing.T, name, id string) string {
	t.Helper()
	return sign(t, testKey, name, id)
}

// A shared or persistent store needs configured keys: a random key per
// process logs users out on every restart and every other server.
func TestKeysRequiredBeyondMemstore(t *testing.T) {
	store, _ := core.FuncStore(core.Funcs{Read: memstore.New(memstore.Options{}).Read, Write: nopWrite, Destroy: nopDestroy})
	if _, err := core.New(store, core.Config{}); !errors.Is(err, core.ErrConfig) {
		t.Fatalf("New without Keys over %T: %v, want ErrConfig", store, err)
	}
	m, err := core.New(nil, core.Config{})
	if err != nil {
		t.Fatalf("the default in-memory store without Keys: %v", err)
	}
	m.Close()
}

// Two Managers nested in one application each find their own session, and
// a handler behind no middleware gets an error, not a silent nil session.
func TestNestedManagersAndMissingMiddleware(t *testing.T) {
	outer, _ := core.New(nil, core.Config{Keys: [][]byte{testKey}, Cookie: core.CookieConfig{Name: "outer", Insecure: true}, Logger: quiet})
	inner, _ := core.New(nil, core.Config{Keys: [][]byte{testKey}, Cookie: core.CookieConfig{Name: "inner", Insecure: true}, Logger: quiet})
	defer outer.Close()
	defer inner.Close()
	var gotOuter, gotInner, innermost *core.Session
	h := outer.Handler(inner.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotOuter, _ = outer.FromContext(r.Context())
		gotInner, _ = inner.FromContext(r.Context())
		innermost, _ = core.FromContext(r.Context())
		gotOuter.Set("who", "outer")
		gotInner.Set("who", "inner")
	})))
	rec := newRecorder()
	h.ServeHTTP(rec, mustRequest(t))
	if gotOuter == nil || gotInner == nil || gotOuter == gotInner || innermost != gotInner {
		t.Fatalf("outer %p inner %p innermost %p: each Manager must find its own session", gotOuter, gotInner, innermost)
	}
	var names []string
	for _, c := range rec.Header().Values("Set-Cookie") {
		names = append(names, strings.SplitN(c, "=", 2)[0])
	}
	if strings.Join(names, ",") != "inner,outer" {
		t.Fatalf("cookies %v, want one of each Manager", names)
	}

	var logged strings.Builder
	m, _ := core.New(nil, core.Config{Keys: [][]byte{testKey}, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	defer m.Close()
	if s, err := m.FromContext(context.Background()); s != nil || !errors.Is(err, core.ErrNoSession) {
		t.Fatalf("FromContext without the middleware: %v, %v", s, err)
	}
	m.FromContext(context.Background())
	if n := strings.Count(logged.String(), "level=ERROR"); n != 1 {
		t.Fatalf("the missing middleware was logged %d times at ERROR, want once: %s", n, logged.String())
	}
	if s, err := outer.FromContext(innerOnly(t, inner)); s != nil || err == nil {
		t.Fatal("outer found a session behind inner's middleware only")
	}
}

func innerOnly(t *testing.T, inner *core.Manager) context.Context {
	var ctx context.Context
	inner.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ctx = r.Context() })).ServeHTTP(newRecorder(), mustRequest(t))
	return ctx
}

// Close cancels a GC that a commit started and does not wait for a store
// that never answers.
func TestCloseCancelsBackgroundGC(t *testing.T) {
	started := make(chan struct{}, 1)
	inner := memstore.New(memstore.Options{})
	store, _ := core.FuncStore(core.Funcs{
		Read: inner.Read, Write: inner.Write, Destroy: inner.Destroy,
		GC: func(ctx context.Context, _ time.Time) (int, error) {
			select {
			case started <- struct{}{}:
			default:
			}
			<-ctx.Done() // a sweep that only a cancellation ends
			return 0, ctx.Err()
		},
	})
	m, err := core.New(store, core.Config{Keys: [][]byte{testKey}, GCProbability: 1, GCDivisor: 1, GCInterval: -1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	newSession(t, m)
	<-started
	closed := make(chan error)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung on a running GC")
	}
}

// A Cookie header of 1 MiB is never kept: the verified-token cache holds
// the token alone, and its memory is bounded.
func TestHugeCookieHeadersAreNotPinned(t *testing.T) {
	m, err := core.New(nil, core.Config{Keys: [][]byte{testKey}, Cookie: core.CookieConfig{Insecure: true}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cookie := newSession(t, m)
	padding := strings.Repeat("p", 1<<20)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 64; i++ {
		hdr := http.Header{"Cookie": {fmt.Sprintf("pad%d=%s; %s", i, padding, cookie)}}
		s := m.Adapter().Load(context.Background(), hdr)
		if s.IsNew() {
			t.Fatal("the token was not read")
		}
		m.Adapter().Release(s)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap after 64 requests with 1 MiB Cookie headers: %+d bytes", grown)
	if grown > 4<<20 {
		t.Fatalf("64 × 1 MiB Cookie headers left %d bytes on the heap, want ≤ 4 MiB (headers pinned?)", grown)
	}
}

// Locked sessions used after their request ended (a goroutine, a stream
// writer) take no lock: the next request is not blocked.
func TestSessionUsedAfterReleaseTakesNoLock(t *testing.T) {
	m, err := core.New(nil, core.Config{Keys: [][]byte{testKey}, Locking: true, LockTimeout: 2 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cookie := newSession(t, m)
	hdr := http.Header{"Cookie": {cookie}}
	s := m.Adapter().Load(context.Background(), hdr)
	m.Adapter().Release(s) // the request ended before its session was used
	s.Set("late", true)
	if !errors.Is(s.Err(), core.ErrHeadersSent) {
		t.Fatalf("Err after using a released session: %v", s.Err())
	}
	next := m.Adapter().Load(context.Background(), hdr)
	if err := next.Load(); err != nil {
		t.Fatalf("the next request could not load: %v", err)
	}
	m.Adapter().Release(next)
}

type recorder struct {
	h    http.Header
	code int
	body strings.Builder
}

func newRecorder() *recorder                    { return &recorder{h: http.Header{}} }
func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

var _ io.Writer = (*recorder)(nil)

func mustRequest(t *testing.T) *http.Request {
	t.Helper()
	r, err := http.NewRequest("GET", "http://127.0.0.1/", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// "Log out my other devices" ends every session of the user but the
// current one; UserSessions lists the live ones without their IDs.
func TestDestroyOtherSessionsAndList(t *testing.T) {
	m, err := core.New(nil, core.Config{Keys: [][]byte{testKey}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	var cookies []string
	for i := 0; i < 4; i++ {
		s := m.Adapter().Load(ctx, http.Header{})
		s.SetUser("erin")
		s.Remember(i == 0)
		h := http.Header{}
		if err := m.Adapter().Commit(ctx, s, h); err != nil {
			t.Fatal(err)
		}
		cookies = append(cookies, strings.SplitN(h.Get("Set-Cookie"), ";", 2)[0])
	}
	list, err := m.UserSessions(ctx, "erin")
	if err != nil || len(list) != 4 {
		t.Fatalf("UserSessions = %d, %v; want 4", len(list), err)
	}
	remembered := 0
	for _, info := range list {
		for _, c := range cookies {
			if strings.Contains(c, info.IDHash) {
				t.Fatal("the listing reveals an ID")
			}
		}
		if info.Created.IsZero() || info.Deadline.IsZero() {
			t.Fatalf("incomplete info %+v", info)
		}
		if info.Remember {
			remembered++
		}
	}
	if remembered != 1 {
		t.Fatalf("%d remembered sessions listed, want 1", remembered)
	}
	current := m.Adapter().Load(ctx, http.Header{"Cookie": {cookies[2]}})
	n, err := m.DestroyOtherSessions(ctx, current)
	if err != nil || n != 3 {
		t.Fatalf("DestroyOtherSessions = %d, %v; want 3", n, err)
	}
	m.Adapter().Release(current)
	for i, c := range cookies {
		s := m.Adapter().Load(ctx, http.Header{"Cookie": {c}})
		if alive := s.User() == "erin"; alive != (i == 2) {
			t.Fatalf("session %d alive=%v after logging out the others from session 2", i, alive)
		}
		m.Adapter().Release(s)
	}
	if list, _ := m.UserSessions(ctx, "erin"); len(list) != 1 {
		t.Fatalf("UserSessions after: %d, want 1", len(list))
	}
}
