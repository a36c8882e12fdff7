package storetest

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// appKeys are the signing keys every app server of the kit shares, as the
// servers behind one load balancer do: a token one signs, all accept.
var appKeys = [][]byte{[]byte("storetest-app-servers-signing-key-0123456789")}

// appLockTimeout is far above any wait a correct store causes: under -race
// on a loaded two-core CI machine, lock fairness may let one request wait
// seconds, and that must not surface as a 503 from a store that is fine.
const appLockTimeout = time.Minute

// NewApp starts one "app server" over store: a core.Manager (locking as
// asked, the kit's shared signing keys, an Insecure cookie so plain HTTP
// works, no idle extension, no background GC, a discarded log) in front of
// a small app, served by httptest on 127.0.0.1. Server and Manager stop
// when t ends; stopping the Manager closes store if it has a Close method.
//
// The app answers GET requests, each with status 200 and a short body:
//
//	/login   sets "user" to "alice" and regenerates the ID   "ok"
//	/whoami  the "user" value                                 "alice" or ""
//	/logout  destroys the session                             "bye"
//	/inc     increments the int "n", answers the new value    "1", "2", …
//	/get     the value of "n"                                 "0", "1", …
//	/view    the value of "n", read-only (takes no lock)      "0", "1", …
//
// A store failure is answered by core (503), never with a 200.
func NewApp(t testing.TB, store core.Store, locking bool) *httptest.Server {
	t.Helper()
	m, err := core.New(store, core.Config{
		Keys:          appKeys,
		Locking:       locking,
		LockTimeout:   appLockTimeout,
		Cookie:        core.CookieConfig{Insecure: true},
		TouchInterval: time.Hour, // no idle extension in the middle of a count
		GCInterval:    -1,        // a shared backend keeps other tests' records
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("storetest: core.New: %v", err)
	}
	srv := httptest.NewServer(m.Handler(app(t)))
	t.Cleanup(func() {
		srv.Close()
		if err := m.Close(); err != nil {
			t.Errorf("storetest: closing the Manager (and the store): %v", err)
		}
	})
	return srv
}

// app is the handler behind NewApp.
func app(t testing.TB) http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, h func(w io.Writer, s *core.Session)) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			s, err := core.FromContext(r.Context())
			if err != nil {
				t.Errorf("storetest: %s: FromContext: %v", path, err)
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			h(w, s)
		})
	}
	handle("/login", func(w io.Writer, s *core.Session) {
		s.Set("user", "alice")
		s.Regenerate()
		io.WriteString(w, "ok")
	})
	handle("/whoami", func(w io.Writer, s *core.Session) {
		u, _ := core.Get[string](s, "user")
		io.WriteString(w, u)
	})
	handle("/logout", func(w io.Writer, s *core.Session) {
		s.Destroy()
		io.WriteString(w, "bye")
	})
	handle("/inc", func(w io.Writer, s *core.Session) {
		n := count(s)
		s.Set("n", n+1)
		io.WriteString(w, strconv.Itoa(n+1))
	})
	handle("/get", func(w io.Writer, s *core.Session) {
		n := count(s)
		io.WriteString(w, strconv.Itoa(n))
	})
	handle("/view", func(w io.Writer, s *core.Session) {
		s.ReadOnly()
		n := count(s)
		io.WriteString(w, strconv.Itoa(n))
	})
	return mux
}

// NewBrowser returns an HTTP client with its own cookie jar: one user. Its
// timeout outlasts the app servers' lock timeout, so a slow lock shows as
// the server's answer, not as a client error. Its idle connections close
// when t ends.
func NewBrowser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("storetest: cookiejar: %v", err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 128}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Timeout: 2 * appLockTimeout, Transport: tr}
}

// Get requests url with c and returns the status and the body.
func Get(c *http.Client, url string) (status int, body string, err error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// MustGet requests url with c and fails t unless the answer is 200 with
// the body want; want "" accepts any body. It returns the body.
func MustGet(t testing.TB, c *http.Client, url, want string) string {
	t.Helper()
	code, body, err := Get(c, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if code != http.StatusOK || (want != "" && body != want) {
		t.Fatalf("GET %s = %d %q, want 200 %q", url, code, body, want)
	}
	return body
}

// ConcurrentIncrements checks that locking serialises one session's
// requests end to end. Each store becomes one app server (NewApp, locking
// on); pass two or more stores over one backend to play several servers
// behind a load balancer. Each of runs rounds logs a fresh browser in,
// then sends n concurrent /inc requests spread round-robin over the
// servers: every answer must be 200, the answers must be exactly the
// counts 1 to n each once (a repeated count is a lost update), and /get
// and /whoami on the last server must then say n and "alice".
//
// The stores are the servers' own: stopping the servers when t ends
// closes them.
func ConcurrentIncrements(t *testing.T, runs, n int, stores ...core.Store) {
	t.Helper()
	if len(stores) == 0 || n < 1 {
		t.Fatalf("storetest: ConcurrentIncrements needs a store and n ≥ 1 (got %d stores, n=%d)", len(stores), n)
	}
	servers := make([]string, len(stores))
	for i, s := range stores {
		servers[i] = NewApp(t, s, true).URL
	}
	last := servers[len(servers)-1]
	for run := 0; run < runs; run++ {
		br := NewBrowser(t)
		MustGet(t, br, servers[0]+"/login", "ok")
		bodies := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, body, err := Get(br, servers[i%len(servers)]+"/inc")
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("status %d: %s", code, body)
				}
				bodies[i], errs[i] = body, err
			}()
		}
		wg.Wait()
		seen := make([]bool, n+1)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("run %d: /inc on server %d: %v", run, i%len(servers), err)
			}
			k, err := strconv.Atoi(bodies[i])
			if err != nil || k < 1 || k > n || seen[k] {
				t.Fatalf("run %d: /inc answered %q: each of the %d increments must see its own count from 1 to %d (a repeat is a lost update)",
					run, bodies[i], n, n)
			}
			seen[k] = true
		}
		MustGet(t, br, last+"/get", strconv.Itoa(n))
		MustGet(t, br, last+"/whoami", "alice")
		br.CloseIdleConnections()
	}
}

// TwoAppServers checks what a user of two app servers over one backend
// sees, once with locking off and once on (subtests Locking=false and
// Locking=true; the latter skips when the store cannot lock). newPair
// returns the two servers' stores, fresh for each subtest, over one shared
// backend; it may return the same store twice if its Close may be called
// twice. Stopping the servers closes the stores.
//
// Through alternating servers, one browser counts, logs in (which must
// carry the count over to the new ID and kill the old ID on both servers),
// and logs out (after which both servers see an anonymous session). Its
// cookies from before the logout, replayed by another browser, must give
// an anonymous, empty session on both servers, and a write through them
// must start a new session rather than revive the old one.
func TwoAppServers(t *testing.T, newPair func(t *testing.T) (a, b core.Store)) {
	t.Helper()
	for _, locking := range []bool{false, true} {
		t.Run(fmt.Sprintf("Locking=%v", locking), func(t *testing.T) {
			sa, sb := newPair(t)
			if locking && !supports(t, sa, capLock) {
				t.Skip("store has no Lock")
			}
			twoAppServers(t, NewApp(t, sa, locking).URL, NewApp(t, sb, locking).URL)
		})
	}
}

func twoAppServers(t *testing.T, a, b string) {
	t.Helper()
	au, err := url.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	// replayed returns a new browser holding cookies: each replay gets its
	// own, so a server clearing a dead cookie cannot hide the next check.
	replayed := func(cookies []*http.Cookie) *http.Client {
		c := NewBrowser(t)
		c.Jar.SetCookies(au, cookies)
		return c
	}
	servers := []string{a, b}

	br := NewBrowser(t)
	MustGet(t, br, a+"/inc", "1")
	MustGet(t, br, b+"/get", "1")
	anonymous := br.Jar.Cookies(au)

	MustGet(t, br, b+"/login", "ok")
	MustGet(t, br, a+"/whoami", "alice")
	MustGet(t, br, a+"/inc", "2")
	MustGet(t, br, b+"/get", "2")
	for _, srv := range servers { // the ID from before the login is gone
		MustGet(t, replayed(anonymous), srv+"/get", "0")
	}

	loggedIn := br.Jar.Cookies(au)
	MustGet(t, br, b+"/logout", "bye")
	MustGet(t, br, a+"/whoami", "")
	MustGet(t, br, a+"/get", "0")
	for _, srv := range servers {
		MustGet(t, replayed(loggedIn), srv+"/whoami", "")
		MustGet(t, replayed(loggedIn), srv+"/get", "0")
	}
	MustGet(t, replayed(loggedIn), a+"/inc", "1")
}

// count reads the counter "n": an int as sessionkit's codecs keep it, or
// the int64 a PHP codec gives back.
func count(s *core.Session) int {
	v, _ := s.Get("n")
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}
