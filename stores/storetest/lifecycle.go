package storetest

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// Lifecycle checks the lifecycle promises that only show when requests of
// one browser overlap, through core's net/http middleware over a real
// HTTP server, with locking off and on (the latter when the store can
// lock). newStore returns a fresh store for each app server it starts;
// stopping the servers closes the stores. Each check runs rounds times:
//
//   - LogoutIsFinal: a request that loaded a logged-in session is held
//     while a logout commits, then changes the session (or regenerates
//     it): replaying any cookie the browser was given shows an anonymous
//     session, and the held request answered 200 (applied before the
//     logout) or 409 (refused), never a resurrected session.
//   - ParallelTabRegenerate: a request still carrying the pre-login token
//     commits around a login (Regenerate) of another tab: its change to
//     another key lands in the logged-in session, it gets no Set-Cookie
//     (that would delete the new cookie), no 409, and the pre-login token
//     is dead afterwards.
//   - PlantedToken: a token planted before the victim's login never opens
//     the logged-in session and is never answered with the new token; with
//     a grace period it may reach the session's data during the grace, but
//     never regenerate it, and a logout through it ends the new session.
//   - InPlaceChange: a request changes a list it got from Get in place,
//     without Set, while another request of the session changes another
//     key and, in a second round, the same list the same way: both
//     changes of the first round land (merged, or one after the other
//     under the lock); in the second every 200 is an increment that
//     landed and the other request, if refused, got a 409.
//   - Conflicts: without locking, n concurrent increments of one key end
//     with the final count plus the 409 answers equal to n, each 200
//     carrying a distinct count, no 5xx.
func Lifecycle(t *testing.T, rounds int, newStore func(t *testing.T) core.Store) {
	t.Helper()
	php, err := core.PHPConfig("php", 24*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct {
		name    string
		cfg     core.Config
		locking bool
	}{
		{"Locking=false", core.Config{}, false},
		{"Locking=true", core.Config{Locking: true}, true},
		{"PHPRecords/Locking=false", php, false},
		{"PHPRecords/Locking=true", with(php, func(c *core.Config) { c.Locking = true }), true},
	} {
		locking := mode.locking
		t.Run(mode.name, func(t *testing.T) {
			if locking && !supports(t, newStore(t), capLock) {
				return // nothing to check: the store cannot lock
			}
			app := newGatedApp(t, newStore(t), mode.cfg)
			for _, act := range []string{"inc", "regen", "cart"} {
				t.Run("LogoutIsFinal/"+act, func(t *testing.T) {
					for r := 0; r < rounds; r++ {
						logoutIsFinal(t, app, act)
					}
				})
			}
			t.Run("ParallelTabRegenerate", func(t *testing.T) {
				for r := 0; r < rounds; r++ {
					parallelTabRegenerate(t, app)
				}
			})
			t.Run("PlantedToken", func(t *testing.T) {
				for r := 0; r < rounds; r++ {
					plantedToken(t, app, nil)
				}
			})
			t.Run("PlantedTokenHeldOpen", func(t *testing.T) {
				plantedTokenHeldOpen(t, app)
			})
			t.Run("PlantedTokenWithGrace", func(t *testing.T) {
				graced := newGatedApp(t, newStore(t), with(mode.cfg, func(c *core.Config) { c.RegenerateGrace = graceForTests }))
				for r := 0; r < min(rounds, 3); r++ {
					plantedToken(t, graced, graced)
				}
			})
			t.Run("InPlaceChange", func(t *testing.T) {
				for r := 0; r < rounds; r++ {
					inPlaceChange(t, app)
				}
			})
			if !locking {
				t.Run("Conflicts", func(t *testing.T) {
					for r := 0; r < max(rounds/5, 1); r++ {
						conflicts(t, app, 100)
					}
				})
			}
		})
	}
}

func with(c core.Config, f func(*core.Config)) core.Config {
	f(&c)
	return c
}

// graceForTests is the RegenerateGrace of the grace checks: long enough
// for a few requests on a loaded CI machine, short enough to wait out.
const graceForTests = time.Second

// gatedApp is an app server whose /hold requests stop after loading their
// session until the test lets them go on.
type gatedApp struct {
	url     string
	locking bool
	entered atomic.Int64 // requests that reached a handler (their session's Load ran)
	mu      sync.Mutex
	gates   map[string]*gate
	seq     int
}

type gate struct {
	loaded, release chan struct{}
}

func newGatedApp(t *testing.T, store core.Store, cfg core.Config) *gatedApp {
	t.Helper()
	cfg.Keys = appKeys
	cfg.LockTimeout = appLockTimeout
	cfg.Cookie.Insecure = true
	cfg.TouchInterval = time.Hour
	cfg.GCInterval = -1
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := core.New(store, cfg)
	if err != nil {
		t.Fatalf("storetest: core.New: %v", err)
	}
	a := &gatedApp{gates: map[string]*gate{}, locking: cfg.Locking}
	mux := http.NewServeMux()
	mux.Handle("/", app(t))
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		s, err := core.FromContext(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		g := a.gate(r.URL.Query().Get("gate"))
		n := count(s) // load (and lock) the session
		close(g.loaded)
		<-g.release
		act(w, s, r.URL.Query().Get("do"), n)
	})
	mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) {
		s, err := core.FromContext(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		g := a.gate(r.URL.Query().Get("gate"))
		close(g.loaded) // under way, the session not touched yet
		<-g.release
		user, _ := core.Get[string](s, "user")
		s.Set("cart", "planted")
		io.WriteString(w, "user="+user)
	})
	mux.HandleFunc("/cart", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		act(w, s, "cart", 0)
	})
	mux.HandleFunc("/newlist", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Set("list", []int{0})
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		act(w, s, "mutate", 0)
	})
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		io.WriteString(w, strconv.Itoa(bumpList(s, 0)))
	})
	mux.HandleFunc("/showcart", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		c, _ := core.Get[string](s, "cart")
		io.WriteString(w, c)
	})
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.entered.Add(1)
		mux.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(m.Handler(counted))
	t.Cleanup(func() {
		srv.Close()
		if err := m.Close(); err != nil {
			t.Errorf("storetest: closing the Manager (and the store): %v", err)
		}
	})
	a.url = srv.URL
	return a
}

// act is what a request does to its session once let go.
func act(w io.Writer, s *core.Session, do string, n int) {
	switch do {
	case "inc":
		s.Set("n", n+1)
	case "regen":
		s.Set("n", n+1)
		s.Regenerate()
	case "cart":
		s.Set("cart", "book")
	case "login":
		s.Set("user", "alice")
		s.Regenerate()
	case "logout":
		s.Destroy()
	case "mutate":
		bumpList(s, 1) // in place: no Set
	}
	io.WriteString(w, do)
}

// bumpList adds by to the first element of the session's "list" in place,
// through the slice Get hands out, whatever integer type the codec decoded
// it to, and returns the element (-1 without a list).
func bumpList(s *core.Session, by int) int {
	v, _ := s.Get("list")
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Len() == 0 {
		return -1
	}
	e := rv.Index(0)
	if e.Kind() == reflect.Interface {
		n := reflect.ValueOf(e.Interface())
		if !n.CanInt() {
			return -1
		}
		sum := reflect.New(n.Type()).Elem()
		sum.SetInt(n.Int() + int64(by))
		e.Set(sum)
		return int(sum.Int())
	}
	if !e.CanInt() {
		return -1
	}
	e.SetInt(e.Int() + int64(by))
	return int(e.Int())
}

// newGate registers a gate and returns its name.
func (a *gatedApp) newGate() (string, *gate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	name := strconv.Itoa(a.seq)
	g := &gate{loaded: make(chan struct{}), release: make(chan struct{})}
	a.gates[name] = g
	return name, g
}

func (a *gatedApp) gate(name string) *gate {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gates[name]
}

// reply is one finished request.
type reply struct {
	code    int
	body    string
	cookies []*http.Cookie
	err     error
}

// send requests url with c in a goroutine; the reply arrives on the channel.
func send(c *http.Client, url string) <-chan reply {
	ch := make(chan reply, 1)
	go func() {
		resp, err := c.Get(url)
		if err != nil {
			ch <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- reply{code: resp.StatusCode, body: string(b), cookies: resp.Cookies(), err: err}
	}()
	return ch
}

// waitFor fails t unless ch is closed within the lock timeout.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(appLockTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func await(t *testing.T, ch <-chan reply, what string) reply {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("%s: %v", what, r.err)
		}
		return r
	case <-time.After(2 * appLockTimeout):
		t.Fatalf("timed out waiting for %s", what)
		return reply{}
	}
}

// overlap is how long a test lets a second request run into a held one
// before letting the held one go: a request that should wait (for the
// lock) is by then waiting; one that wrongly does not has finished. Either
// way the checks that follow must hold: it orders, it is not asserted on.
const overlap = 50 * time.Millisecond

// hold starts a /hold request of c doing do, and returns once it has
// loaded its session, with the function that lets it go on.
func (a *gatedApp) hold(t *testing.T, c *http.Client, do string) (release func(), done <-chan reply) {
	t.Helper()
	name, g := a.newGate()
	done = send(c, a.url+"/hold?gate="+name+"&do="+do)
	select {
	case <-g.loaded:
	case r := <-done:
		t.Fatalf("/hold?do=%s answered %d %q before loading its session", do, r.code, r.body)
	case <-time.After(appLockTimeout):
		t.Fatalf("/hold?do=%s never loaded its session", do)
	}
	var once sync.Once
	return func() { once.Do(func() { close(g.release) }) }, done
}

// runInto sends a request that overlaps a held one, then lets the held one
// go once the other has reached the server (its session's Load ran, so it
// counts as under way) and had overlap to run into the held one; it
// returns both replies.
func (a *gatedApp) runInto(t *testing.T, release func(), held <-chan reply, c *http.Client, url string) (heldReply, other reply) {
	t.Helper()
	before := a.entered.Load()
	ch := send(c, url)
	deadline := time.Now().Add(appLockTimeout)
	for a.entered.Load() == before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	select {
	case other = <-ch:
		ch = nil
	case <-time.After(overlap):
	}
	release()
	heldReply = await(t, held, "the held request")
	if ch != nil {
		other = await(t, ch, url)
	}
	if other.err != nil {
		t.Fatalf("%s: %v", url, other.err)
	}
	return heldReply, other
}

// browserWith returns a new browser holding cookies for u.
func browserWith(t *testing.T, u *url.URL, cookies []*http.Cookie) *http.Client {
	c := NewBrowser(t)
	c.Jar.SetCookies(u, cookies)
	return c
}

func logoutIsFinal(t *testing.T, a *gatedApp, do string) {
	t.Helper()
	u, _ := url.Parse(a.url)
	br := NewBrowser(t)
	MustGet(t, br, a.url+"/login", "ok")
	loggedIn := br.Jar.Cookies(u)

	release, held := a.hold(t, br, do)
	other := browserWith(t, u, loggedIn) // a second tab of the same browser
	h, out := a.runInto(t, release, held, other, a.url+"/logout")
	if out.code != http.StatusOK {
		t.Fatalf("/logout answered %d %q", out.code, out.body)
	}
	if h.code != http.StatusOK && h.code != http.StatusConflict {
		t.Fatalf("the held /hold?do=%s answered %d %q, want 200 (before the logout) or 409", do, h.code, h.body)
	}
	for _, cookies := range [][]*http.Cookie{loggedIn, h.cookies, br.Jar.Cookies(u)} {
		if len(cookies) == 0 {
			continue
		}
		replay := browserWith(t, u, cookies)
		if who := MustGet(t, replay, a.url+"/whoami", ""); who != "" {
			t.Fatalf("after a logout racing /hold?do=%s (held answered %d), a cookie still opens the session of %q", do, h.code, who)
		}
		MustGet(t, replay, a.url+"/get", "0")
	}
}

func parallelTabRegenerate(t *testing.T, a *gatedApp) {
	t.Helper()
	u, _ := url.Parse(a.url)
	br := NewBrowser(t)
	MustGet(t, br, a.url+"/inc", "1")
	anonymous := br.Jar.Cookies(u)

	var login, tab reply
	if a.locking {
		// The login holds the lock; the tab's request waits for it and
		// follows the session to its new ID.
		release, held := a.hold(t, br, "login")
		login, tab = a.runInto(t, release, held, browserWith(t, u, anonymous), a.url+"/cart")
	} else {
		// The tab's request loaded before the login and commits after it.
		release, held := a.hold(t, browserWith(t, u, anonymous), "cart")
		login = await(t, send(br, a.url+"/login"), "/login")
		release()
		tab = await(t, held, "the held /hold?do=cart")
	}
	if login.code != http.StatusOK || tab.code != http.StatusOK {
		t.Fatalf("login answered %d %q, the other tab %d %q; want both 200", login.code, login.body, tab.code, tab.body)
	}
	if len(tab.cookies) != 0 {
		t.Fatalf("the other tab got Set-Cookie %v: it would replace or delete the logged-in cookie", tab.cookies)
	}
	if len(login.cookies) == 0 {
		t.Fatal("the login set no cookie")
	}
	br.Jar.SetCookies(u, login.cookies)
	MustGet(t, br, a.url+"/whoami", "alice")
	MustGet(t, br, a.url+"/showcart", "book")
	MustGet(t, br, a.url+"/get", "1")
	late := browserWith(t, u, anonymous)
	MustGet(t, late, a.url+"/whoami", "")
	MustGet(t, late, a.url+"/showcart", "")
}

// plantedToken: the attacker's pre-login token in the victim's browser.
// graced is non-nil when the app has a grace period.
func plantedToken(t *testing.T, a *gatedApp, graced *gatedApp) {
	t.Helper()
	u, _ := url.Parse(a.url)
	attacker := NewBrowser(t)
	MustGet(t, attacker, a.url+"/inc", "1")
	planted := attacker.Jar.Cookies(u)
	victim := browserWith(t, u, planted)
	MustGet(t, victim, a.url+"/login", "ok")
	victimCookies := victim.Jar.Cookies(u)
	if sameValues(planted, victimCookies) {
		t.Fatal("the login kept the planted token")
	}

	if graced != nil {
		// Within the grace the old token reaches the session's data, but
		// is never handed the new token and cannot regenerate it.
		code, body, cookies := getWithCookies(t, planted, a.url+"/whoami")
		if code != http.StatusOK || body != "alice" {
			t.Fatalf("within the grace period the old token saw %d %q, want the session (alice)", code, body)
		}
		if len(cookies) != 0 {
			t.Fatalf("within the grace period the old token was answered with Set-Cookie %v", cookies)
		}
		code, _, cookies = getWithCookies(t, planted, a.url+"/login")
		if code != http.StatusConflict || len(cookies) != 0 {
			t.Fatalf("a login through the old token within the grace: %d, Set-Cookie %v; want 409 and no cookie", code, cookies)
		}
		deadline := time.Now().Add(graceForTests + appLockTimeout)
		for {
			_, body, _ := getWithCookies(t, planted, a.url+"/whoami")
			if body == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the old token still opens the session long after the grace period")
			}
			time.Sleep(graceForTests / 10)
		}
		// A logout through the old token within the grace ends the new
		// session too.
		victim2 := NewBrowser(t)
		MustGet(t, victim2, a.url+"/inc", "1")
		old := victim2.Jar.Cookies(u)
		MustGet(t, victim2, a.url+"/login", "ok")
		if code, body, _ := getWithCookies(t, old, a.url+"/logout"); code != http.StatusOK || body != "bye" {
			t.Fatalf("logout through the old token within the grace: %d %q", code, body)
		}
		MustGet(t, victim2, a.url+"/whoami", "")
	}

	// Past any grace the planted token is dead, and a write through it
	// starts a fresh session of the attacker's own.
	for _, path := range []string{"/whoami", "/inc"} {
		if graced != nil && path == "/whoami" {
			continue // waited out above
		}
		code, body, cookies := getWithCookies(t, planted, a.url+path)
		if code != http.StatusOK {
			t.Fatalf("%s with the planted token: %d %q", path, code, body)
		}
		if path == "/whoami" && body != "" {
			t.Fatalf("the planted token opened the session of %q after the login", body)
		}
		if path == "/inc" && body != "1" {
			t.Fatalf("a write through the planted token reached a session with n=%s", body)
		}
		for _, c := range cookies {
			for _, v := range victimCookies {
				if c.Value == v.Value {
					t.Fatal("the planted token was answered with the victim's new token")
				}
			}
		}
	}
	MustGet(t, victim, a.url+"/whoami", "alice")
}

// heldOpen is how long plantedTokenHeldOpen keeps its request waiting after
// the login: past the second within which core lets a request that was under
// way at a Regenerate follow it.
const heldOpen = 1500 * time.Millisecond

// plantedTokenHeldOpen: the attacker starts a request with the planted token
// before the victim's login and holds it (a body sent slowly) until well
// after it. The request was under way when the ID moved, but it must
// neither read the logged-in session nor write into it, nor get its token.
func plantedTokenHeldOpen(t *testing.T, a *gatedApp) {
	t.Helper()
	u, _ := url.Parse(a.url)
	attacker := NewBrowser(t)
	MustGet(t, attacker, a.url+"/inc", "1")
	planted := attacker.Jar.Cookies(u)
	name, g := a.newGate()
	held := send(browserWith(t, u, planted), a.url+"/late?gate="+name)
	waitFor(t, g.loaded, "the held request to reach its handler")
	victim := browserWith(t, u, planted)
	MustGet(t, victim, a.url+"/login", "ok")
	victimCookies := victim.Jar.Cookies(u)
	if sameValues(planted, victimCookies) {
		t.Fatal("the login kept the planted token")
	}
	time.Sleep(heldOpen)
	close(g.release)
	r := await(t, held, "the held planted request")
	if r.code != http.StatusOK || r.body != "user=" {
		t.Fatalf("the planted request held open past the login answered %d %q, want 200 \"user=\" (not the logged-in session)", r.code, r.body)
	}
	for _, c := range r.cookies {
		for _, v := range victimCookies {
			if c.Value == v.Value {
				t.Fatal("the held planted request was answered with the victim's new token")
			}
		}
	}
	MustGet(t, victim, a.url+"/whoami", "alice")
	MustGet(t, victim, a.url+"/showcart", "")
}

// getWithCookies requests target from a new browser holding cookies.
func getWithCookies(t *testing.T, cookies []*http.Cookie, target string) (int, string, []*http.Cookie) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := await(t, send(browserWith(t, u, cookies), target), target)
	return r.code, r.body, r.cookies
}

func sameValues(a, b []*http.Cookie) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

// conflicts sends n concurrent increments of one key without locking.
func conflicts(t *testing.T, a *gatedApp, n int) {
	t.Helper()
	br := NewBrowser(t)
	MustGet(t, br, a.url+"/login", "ok")
	replies := make([]<-chan reply, n)
	for i := range replies {
		replies[i] = send(br, a.url+"/inc")
	}
	applied := map[string]bool{}
	refused := 0
	for _, ch := range replies {
		r := await(t, ch, "/inc")
		switch r.code {
		case http.StatusOK:
			if applied[r.body] {
				t.Fatalf("two increments answered 200 %q: one of them was lost", r.body)
			}
			applied[r.body] = true
		case http.StatusConflict:
			refused++
		default:
			t.Fatalf("/inc answered %d %q; want 200 or 409", r.code, r.body)
		}
	}
	final, _ := strconv.Atoi(MustGet(t, br, a.url+"/get", ""))
	if final != len(applied) || final+refused != n {
		t.Fatalf("final count %d, %d answers 200, %d answers 409: every 200 must be an applied change (final = 200s, final + 409s = %d)",
			final, len(applied), refused, n)
	}
}

func inPlaceChange(t *testing.T, a *gatedApp) {
	t.Helper()
	u, _ := url.Parse(a.url)
	br := NewBrowser(t)
	MustGet(t, br, a.url+"/newlist", "ok")
	tab := browserWith(t, u, br.Jar.Cookies(u))

	// Another key meanwhile: nothing conflicts, both land.
	release, held := a.hold(t, br, "mutate")
	h, other := a.runInto(t, release, held, tab, a.url+"/cart")
	if h.code != http.StatusOK || other.code != http.StatusOK {
		t.Fatalf("the held in-place change answered %d %q, the other tab's /cart %d %q; want both 200", h.code, h.body, other.code, other.body)
	}
	MustGet(t, br, a.url+"/list", "1")
	MustGet(t, br, a.url+"/showcart", "book")

	// The same list meanwhile: every 200 is an increment that landed.
	release, held = a.hold(t, br, "mutate")
	h, other = a.runInto(t, release, held, tab, a.url+"/mutate")
	applied := 0
	for _, r := range []reply{h, other} {
		switch {
		case r.code == http.StatusOK:
			applied++
		case r.code == http.StatusConflict && !a.locking:
		default:
			t.Fatalf("an in-place change answered %d %q; want 200%s", r.code, r.body, map[bool]string{false: " or 409"}[a.locking])
		}
	}
	MustGet(t, br, a.url+"/list", strconv.Itoa(1+applied))
}
