package core_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/sessionkit/sessionkit/core"
)

func sign(t testing.TB, key []byte, name, id string) string {
	t.Helper()
	sc := securecookie.New(key, nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	v, err := sc.Encode(name, []byte(id))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestStrictModeNeverAdoptsUnknownID(t *testing.T) {
	h := newHarness(t, core.Config{}, counterRoutes)
	forged := strings.Repeat("A", 43)
	_, body, res := h.get("/inc", "Cookie", "sid="+sign(t, testKey, "sid", forged))
	if body != "1" {
		t.Fatalf("counter = %q, want 1 (fresh session)", body)
	}
	if _, found, _ := h.store.Inner.Read(context.Background(), forged); found {
		t.Fatal("a record was created under the client-chosen ID")
	}
	var issued string
	for _, c := range res.Cookies() {
		if c.Name == "sid" {
			issued = c.Value
		}
	}
	if issued == "" {
		t.Fatal("no new cookie issued")
	}
	if issued == sign(t, testKey, "sid", forged) {
		t.Fatal("the forged ID was re-issued")
	}
}

func TestBadTokensGiveFreshSessionWithoutStoreCalls(t *testing.T) {
	h := newHarness(t, core.Config{}, counterRoutes)
	valid := sign(t, testKey, "sid", strings.Repeat("B", 43))
	otherKey := make([]byte, 32)
	rand.Read(otherKey)
	tampered := []byte(valid)
	tampered[10] ^= 1
	cases := map[string]string{
		"tampered":       "sid=" + string(tampered),
		"wrong key":      "sid=" + sign(t, otherKey, "sid", strings.Repeat("B", 43)),
		"other name":     "sid=" + sign(t, testKey, "other", strings.Repeat("B", 43)),
		"oversized 4097": "sid=" + strings.Repeat("x", 4097),
		"oversized 64k":  "sid=" + strings.Repeat("x", 64<<10),
		"bad base64":     "sid=%%%%***",
		"duplicate":      "sid=" + valid + "; sid=" + valid,
		"bad id syntax":  "sid=" + sign(t, testKey, "sid", "../../etc/passwd/../../x"),
		"short id":       "sid=" + sign(t, testKey, "sid", "abc"),
		"empty":          "sid=",
	}
	for name, cookie := range cases {
		t.Run(name, func(t *testing.T) {
			before := h.store.Calls()
			status, body, _ := h.get("/get", "Cookie", cookie)
			if status != http.StatusOK || body != "0" {
				t.Fatalf("got %d %q, want 200 \"0\"", status, body)
			}
			if n := h.store.Calls() - before; n != 0 {
				t.Fatalf("%d store calls for a rejected token", n)
			}
		})
	}
}

func TestExpiredTokenIsRejected(t *testing.T) {
	h := newHarness(t, core.Config{AbsoluteTimeout: time.Hour, IdleTimeout: time.Minute, RememberAbsoluteTimeout: time.Hour}, counterRoutes)
	// A token signed long ago: securecookie checks its embedded timestamp.
	sc := securecookie.New(testKey, nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	sc.MaxAge(0)
	h.get("/inc")
	id := h.cookie()
	if id == "" {
		t.Fatal("no cookie")
	}
	var raw []byte
	if err := sc.Decode("sid", id, &raw); err != nil {
		t.Fatal(err)
	}
	// Re-sign with a timestamp two hours old.
	old := encodeAt(t, string(raw), time.Now().Add(-2*time.Hour))
	before := h.store.Calls()
	_, body, _ := h.get("/get", "Cookie", "sid="+old)
	if body != "0" {
		t.Fatalf("expired token still opened the session: %q", body)
	}
	if h.store.Calls() != before {
		t.Fatal("store consulted for an expired token")
	}
}

// encodeAt signs id as securecookie would have at time at.
func encodeAt(t *testing.T, id string, at time.Time) string {
	t.Helper()
	return signedAt(testKey, "sid", id, at.Unix())
}

func TestLazyLoadAndLazyCreate(t *testing.T) {
	h := newHarness(t, core.Config{}, counterRoutes)
	for i := 0; i < 10000; i++ {
		req, _ := http.NewRequest("GET", h.srv.URL+"/get", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if len(res.Header.Values("Set-Cookie")) != 0 {
			t.Fatal("Set-Cookie for an anonymous request that stored nothing")
		}
	}
	if h.store.WritesAll() != 0 {
		t.Fatalf("%d writes for anonymous read-only requests", h.store.WritesAll())
	}
	h.get("/inc")
	before := h.store.Calls()
	for i := 0; i < 100; i++ {
		if _, body, _ := h.get("/nop"); body != "nop" {
			t.Fatal(body)
		}
	}
	if n := h.store.Calls() - before; n != 0 {
		t.Fatalf("%d store calls for requests that never touched their session", n)
	}
}

func TestLazyWrite(t *testing.T) {
	h := newHarness(t, core.Config{}, counterRoutes)
	h.get("/inc")
	writes := h.store.WritesAll()
	for i := 0; i < 50; i++ {
		_, body, res := h.get("/get")
		if body != "1" {
			t.Fatal(body)
		}
		if len(res.Header.Values("Set-Cookie")) != 0 {
			t.Fatal("Set-Cookie on an unchanged session")
		}
	}
	if n := h.store.WritesAll() - writes; n != 0 {
		t.Fatalf("%d writes for unchanged sessions", n)
	}
	if n := h.store.Touches.Load(); n != 0 {
		t.Fatalf("%d touches within one TouchInterval", n)
	}
}

func TestSetCookieAttributesAndNoStore(t *testing.T) {
	h := newHarness(t, core.Config{}, counterRoutes)
	_, _, res := h.get("/inc")
	sc := res.Header.Get("Set-Cookie")
	for _, want := range []string{"sid=", "Path=/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Max-Age") || strings.Contains(sc, "Domain") {
		t.Errorf("Set-Cookie %q should be a host-only session cookie", sc)
	}
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Vary") != "Cookie" {
		t.Errorf("Cache-Control %q Vary %q", res.Header.Get("Cache-Control"), res.Header.Get("Vary"))
	}
	// Every response of a request that used its session is kept out of
	// caches (PHP's nocache limiter), not only the ones that set the
	// cookie: Back after a logout must not show the signed-in page.
	_, _, res = h.get("/get")
	if res.Header.Get("Set-Cookie") != "" {
		t.Error("a read set the cookie again")
	}
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Vary") != "Cookie" {
		t.Errorf("read of the session: Cache-Control %q Vary %q", res.Header.Get("Cache-Control"), res.Header.Get("Vary"))
	}
	// A response that never touched the session is left cacheable.
	_, _, res = h.get("/nop")
	if res.Header.Get("Cache-Control") != "" || res.Header.Get("Vary") != "" {
		t.Errorf("untouched session: Cache-Control %q Vary %q", res.Header.Get("Cache-Control"), res.Header.Get("Vary"))
	}
}

func TestRegenerateKeepsDataAndDeadline(t *testing.T) {
	h := newHarness(t, core.Config{}, func(mux *http.ServeMux) {
		counterRoutes(mux)
		mux.HandleFunc("/deadline", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			io.WriteString(w, s.Deadline().Format(time.RFC3339Nano))
		})
	})
	h.get("/inc")
	h.get("/inc")
	before := h.cookie()
	_, deadline1, _ := h.get("/deadline")
	h.get("/login")
	after := h.cookie()
	if before == after || after == "" {
		t.Fatal("cookie not re-issued on regenerate")
	}
	if _, body, _ := h.get("/get"); body != "2" {
		t.Fatalf("data lost on regenerate: n=%s", body)
	}
	if _, user, _ := h.get("/user"); user != "alice" {
		t.Fatalf("user = %q", user)
	}
	if _, deadline2, _ := h.get("/deadline"); deadline1 != deadline2 {
		t.Fatalf("deadline moved: %s -> %s", deadline1, deadline2)
	}
	// The old cookie is dead.
	if _, body, _ := h.get("/get", "Cookie", "sid="+before); body != "0" {
		t.Fatalf("old ID still opens the session: n=%s", body)
	}
}

func TestRegenerateGraceForwardsThenExpires(t *testing.T) {
	h := newHarness(t, core.Config{RegenerateGrace: 300 * time.Millisecond}, counterRoutes)
	h.get("/inc")
	old := h.cookie()
	h.get("/login")
	newer := h.cookie()
	// Another tab still sends the old cookie: it is forwarded.
	jarless := &http.Client{Timeout: 5 * time.Second}
	req, _ := http.NewRequest("GET", h.srv.URL+"/user", nil)
	req.Header.Set("Cookie", "sid="+old)
	res, err := jarless.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "alice" {
		t.Fatalf("grace request saw user %q, want alice", b)
	}
	// It never learns the new ID (ASVS 7.2.4): whoever planted the old
	// token must not be handed the logged-in one.
	if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("forwarded request got Set-Cookie %q", sc)
	}
	if strings.Contains(string(b), newer) {
		t.Fatal("forwarded request saw the new token")
	}
	// After the grace period the old ID is dead.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body, _ := h.get("/user", "Cookie", "sid="+old)
		if body == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("old ID still forwarded long after the grace period")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDestroyThenReplayIsAnonymous(t *testing.T) {
	h := newHarness(t, core.Config{}, counterRoutes)
	h.get("/login")
	c := h.cookie()
	_, _, res := h.get("/logout")
	sc := res.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "Max-Age=0") {
		t.Fatalf("logout did not expire the cookie: %q", sc)
	}
	if h.cookie() != "" {
		t.Fatal("jar still holds the cookie")
	}
	if _, user, _ := h.get("/user", "Cookie", "sid="+c); user != "" {
		t.Fatalf("replayed cookie after logout gave user %q", user)
	}
}

func TestStoreDown(t *testing.T) {
	t.Run("eager: handler not run", func(t *testing.T) {
		var ran sync.Map
		h := newHarness(t, core.Config{EagerLoad: true}, func(mux *http.ServeMux) {
			counterRoutes(mux)
			mux.HandleFunc("/side-effect", func(w http.ResponseWriter, r *http.Request) {
				ran.Store("yes", true)
			})
		})
		h.get("/login")
		h.store.Down.Store(true)
		status, _, _ := h.get("/side-effect")
		if status != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", status)
		}
		if _, ok := ran.Load("yes"); ok {
			t.Fatal("handler ran with the store down")
		}
		h.store.Down.Store(false)
		if _, user, _ := h.get("/user"); user != "alice" {
			t.Fatalf("session lost after the outage: %q", user)
		}
	})
	t.Run("lazy: 503 replaces an anonymous answer", func(t *testing.T) {
		h := newHarness(t, core.Config{}, counterRoutes)
		h.get("/login")
		h.store.Down.Store(true)
		status, body, _ := h.get("/user")
		if status != http.StatusServiceUnavailable || body == "" {
			t.Fatalf("got %d %q, want 503", status, body)
		}
		if strings.Contains(body, "alice") {
			t.Fatal(body)
		}
	})
}

func TestLockingCountsEveryIncrement(t *testing.T) {
	h := newHarness(t, core.Config{Locking: true}, counterRoutes)
	for run := 0; run < 20; run++ {
		h.client.Jar, _ = newJar()
		h.get("/inc")
		var wg sync.WaitGroup
		for i := 0; i < 99; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", h.srv.URL+"/inc", nil)
				res, err := h.client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Errorf("status %d", res.StatusCode)
				}
			}()
		}
		wg.Wait()
		if _, body, _ := h.get("/get"); body != "100" {
			t.Fatalf("run %d: counter = %s, want 100", run, body)
		}
	}
}

func TestWithoutLockingMergesDifferentKeys(t *testing.T) {
	var gate atomic.Value // chan struct{}: closed when the slow requests may go on
	var entered sync.WaitGroup
	h := newHarness(t, core.Config{}, func(mux *http.ServeMux) {
		counterRoutes(mux)
		mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			key := r.URL.Query().Get("k")
			s.Get(key)
			entered.Done()
			<-gate.Load().(chan struct{})
			s.Set(key, r.URL.Query().Get("v"))
		})
		mux.HandleFunc("/show", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			a, _ := core.Get[string](s, "a")
			b, _ := core.Get[string](s, "b")
			io.WriteString(w, a+","+b)
		})
	})
	h.get("/inc")
	// both sends two requests that hold their loaded session until both
	// are in, then change it, and returns their statuses.
	both := func(q1, q2 string) []int {
		entered.Add(2)
		release := make(chan struct{})
		gate.Store(release)
		results := make(chan int, 2)
		for _, q := range []string{q1, q2} {
			go func() {
				req, _ := http.NewRequest("GET", h.srv.URL+"/slow?"+q, nil)
				res, err := h.client.Do(req)
				if err != nil {
					results <- 0
					return
				}
				res.Body.Close()
				results <- res.StatusCode
			}()
		}
		entered.Wait()
		close(release)
		return []int{<-results, <-results}
	}
	if codes := both("k=a&v=1", "k=b&v=2"); codes[0] != 200 || codes[1] != 200 {
		t.Fatalf("statuses %v", codes)
	}
	if _, body, _ := h.get("/show"); body != "1,2" {
		t.Fatalf("concurrent updates of different keys: %q, want both", body)
	}
	// Same key from both: one wins, the other is told (409), nothing silent.
	codes := both("k=a&v=x", "k=a&v=y")
	if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
		t.Fatalf("same-key conflict statuses %v, want one 200 and one 409", codes)
	}
}

func TestDestroyWinsOverSlowWriter(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	h := newHarness(t, core.Config{}, func(mux *http.ServeMux) {
		counterRoutes(mux)
		mux.HandleFunc("/slowset", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			s.Get("user")
			close(entered)
			<-release
			s.Set("late", "value")
		})
	})
	h.get("/login")
	c := h.cookie()
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest("GET", h.srv.URL+"/slowset", nil)
		req.Header.Set("Cookie", "sid="+c)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	<-entered
	h.get("/logout")
	close(release)
	<-done
	if _, user, _ := h.get("/user", "Cookie", "sid="+c); user != "" {
		t.Fatalf("a slow request resurrected a destroyed session (user %q)", user)
	}
}

func TestKeyRotation(t *testing.T) {
	oldKey := bytes.Repeat([]byte{1}, 32)
	newKey := bytes.Repeat([]byte{2}, 32)
	h := newHarness(t, core.Config{Keys: [][]byte{oldKey}}, counterRoutes)
	h.get("/inc")
	tokenOld := h.cookie()
	// Rotate: the new key signs, the old one still verifies.
	m2, err := core.New(h.store, core.Config{Keys: [][]byte{newKey, oldKey}, Cookie: core.CookieConfig{Insecure: true}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	s := m2.Adapter().Load(context.Background(), http.Header{"Cookie": {"sid=" + tokenOld}})
	if n, _ := core.Get[int](s, "n"); n != 1 {
		t.Fatalf("token signed with the old key not accepted after rotation: n=%d", n)
	}
	s.Regenerate()
	hdr := http.Header{}
	if err := m2.Adapter().Commit(context.Background(), s, hdr); err != nil {
		t.Fatal(err)
	}
	tokenNew := strings.TrimPrefix(strings.SplitN(hdr.Get("Set-Cookie"), ";", 2)[0], "sid=")
	var raw []byte
	if err := securecookie.New(newKey, nil).SetSerializer(securecookie.NopEncoder{}).Decode("sid", tokenNew, &raw); err != nil {
		t.Fatalf("new token not signed with the new key: %v", err)
	}
	// Dropping the old key retires its tokens.
	m3, _ := core.New(h.store, core.Config{Keys: [][]byte{newKey}, Cookie: core.CookieConfig{Insecure: true}, Logger: quiet})
	defer m3.Close()
	s3 := m3.Adapter().Load(context.Background(), http.Header{"Cookie": {"sid=" + tokenOld}})
	if !s3.IsNew() {
		t.Fatal("token signed with a removed key still accepted")
	}
}

func TestHeaderTransport(t *testing.T) {
	m, err := core.New(nil, core.Config{Transport: core.TransportHeader, Keys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	s := m.Adapter().Load(ctx, http.Header{})
	s.Set("k", "v")
	out := http.Header{}
	if err := m.Adapter().Commit(ctx, s, out); err != nil {
		t.Fatal(err)
	}
	tok := out.Get("Session-Token")
	if tok == "" || out.Get("Set-Cookie") != "" {
		t.Fatalf("header transport emitted %v", out)
	}
	s2 := m.Adapter().Load(ctx, http.Header{"Session-Token": {tok}})
	if v, _ := core.Get[string](s2, "k"); v != "v" {
		t.Fatalf("header token did not load the session: %q", v)
	}
}

func TestRawCookieTransport(t *testing.T) {
	m, err := core.New(nil, core.Config{Transport: core.TransportRawCookie, Cookie: core.CookieConfig{Insecure: true}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	s := m.Adapter().Load(ctx, http.Header{})
	s.Set("k", "v")
	out := http.Header{}
	if err := m.Adapter().Commit(ctx, s, out); err != nil {
		t.Fatal(err)
	}
	sc := out.Get("Set-Cookie")
	// The bare ID, with "," (not a cookie-octet) URL-encoded as PHP does.
	if !strings.HasPrefix(sc, "PHPSESSID="+strings.ReplaceAll(s.ID(), ",", "%2C")+";") {
		t.Fatalf("raw cookie %q does not carry the bare ID", sc)
	}
	// Strict mode protects the unsigned cookie: an unknown ID is not adopted.
	forged := strings.Repeat("z", 26)
	s2 := m.Adapter().Load(ctx, http.Header{"Cookie": {"PHPSESSID=" + forged}})
	s2.Set("x", 1)
	out2 := http.Header{}
	if err := m.Adapter().Commit(ctx, s2, out2); err != nil {
		t.Fatal(err)
	}
	if s2.ID() == forged {
		t.Fatal("raw transport adopted a client-chosen ID")
	}
}

func TestReadOnlyTakesNoLockAndWritesNothing(t *testing.T) {
	h := newHarness(t, core.Config{Locking: true}, func(mux *http.ServeMux) {
		counterRoutes(mux)
		mux.HandleFunc("/peek", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			s.ReadOnly()
			n, _ := core.Get[int](s, "n")
			s.Set("n", 99)
			io.WriteString(w, itoa(n))
		})
	})
	h.get("/inc")
	locks, writes := h.store.Locks.Load(), h.store.WritesAll()
	status, body, _ := h.get("/peek")
	if h.store.Locks.Load() != locks || h.store.WritesAll() != writes {
		t.Fatal("read-only request locked or wrote")
	}
	if status != http.StatusInternalServerError || body == "1" {
		t.Fatalf("a change to a read-only session must fail loudly: %d %q", status, body)
	}
	if _, body, _ := h.get("/get"); body != "1" {
		t.Fatalf("n = %s", body)
	}
}

func TestSessionErrorsNeverPanic(t *testing.T) {
	var s *core.Session
	s.Set("a", 1)
	s.Delete("a")
	s.Clear()
	s.Destroy()
	s.Regenerate()
	s.AddFlash("x")
	s.Remember(true)
	s.SetUser("u")
	s.ReadOnly()
	if s.IDHash() != "" || s.ID() != "" || s.User() != "" || s.Remembered() || !s.IsNew() ||
		s.Keys() != nil || s.Flashes() != nil || !s.Created().IsZero() || s.Has("a") {
		t.Fatal("nil session reports state")
	}
	if s.Load() == nil || s.Err() == nil {
		t.Fatal("nil session reports no error")
	}
	if _, ok := s.Get("a"); ok {
		t.Fatal("nil session has data")
	}
	if _, err := core.FromContext(context.Background()); !errors.Is(err, core.ErrNoSession) {
		t.Fatalf("FromContext without middleware: %v", err)
	}
	if _, ok := core.Get[int](s, "x"); ok {
		t.Fatal("typed get on nil session")
	}
}

func TestLockErrorsAreStoreErrorsUnlessTheWaitTimedOut(t *testing.T) {
	h := newHarness(t, core.Config{Locking: true, EagerLoad: true}, counterRoutes)
	h.get("/inc")
	h.store.Down.Store(true)
	var got error
	s := h.m.Adapter().Load(context.Background(), http.Header{"Cookie": {"sid=" + h.cookie()}})
	got = s.Err()
	if !errors.Is(got, core.ErrStore) || errors.Is(got, core.ErrLockTimeout) {
		t.Fatalf("lock failure of a down store: %v", got)
	}
	h.store.Down.Store(false)
	// Hold the lock, then time out waiting for it.
	held := h.m.Adapter().Load(context.Background(), http.Header{"Cookie": {"sid=" + h.cookie()}})
	if err := held.Load(); err != nil {
		t.Fatal(err)
	}
	defer h.m.Adapter().Release(held)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	waiter := h.m.Adapter().Load(ctx, http.Header{"Cookie": {"sid=" + h.cookie()}})
	if err := waiter.Err(); !errors.Is(err, core.ErrLockTimeout) {
		t.Fatalf("lock wait past the deadline: %v", err)
	}
}
