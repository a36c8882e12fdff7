package adaptertest

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// Serve starts the adapter under test: an app that runs m's middleware and
// maps routes onto the framework (every route a GET), served by a real
// server on 127.0.0.1. It returns the server's base URL ("http://host:port")
// and registers the server's shutdown with t.Cleanup.
type Serve func(t *testing.T, m *core.Manager, routes Routes) (baseURL string)

// Run runs the scenario suite against the adapter serve starts. Every
// scenario gets its own Manager over a counting in-memory store, and a
// net/http reference server (core.Manager.Handler over Mux) on the same
// Manager for the comparisons.
func Run(t *testing.T, serve Serve) {
	scenarios := []struct {
		name string
		cfg  core.Config
		run  func(t *testing.T, e *env)
	}{
		{"LazyCreateAndWrite", insecure(), testLazy},
		{"Flash", insecure(), testFlash},
		{"Regenerate", insecure(), testRegenerate},
		{"Destroy", insecure(), testDestroy},
		{"Remember", insecure(), testRemember},
		{"TamperedToken", insecure(), testTampered},
		{"StoreDown", insecure(), testStoreDown},
		{"EagerLoadStoreDown", with(insecure(), func(c *core.Config) { c.EagerLoad = true }), testEagerDown},
		{"ErrorHandler", with(insecure(), func(c *core.Config) { c.ErrorHandler = teapot }), testErrorHandler},
		{"Streaming", insecure(), testStreaming},
		{"ChangeAfterFirstByte", insecure(), testLate},
		{"NewSessionAfterFirstByte", insecure(), testLateNew},
		{"FailedSessionDropsHandlerHeaders", insecure(), testFailedHeaders},
		{"ManySessionsConcurrently", insecure(), testManySessions},
		{"Locking", with(insecure(), func(c *core.Config) { c.Locking = true }), testLocking},
		{"HeaderTransport", with(insecure(), func(c *core.Config) { c.Transport = core.TransportHeader }), testHeaderTransport},
		{"CookieLifecycleMatchesNetHTTP", insecure(), testCookieLifecycle},
		{"PlainHTTPWarning", core.Config{}, testPlainHTTPWarning},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			sc.run(t, start(t, serve, sc.cfg))
		})
	}
	t.Run("CookieAttributesMatchNetHTTP", func(t *testing.T) { testCookieAttributes(t, serve) })
}

func insecure() core.Config { return core.Config{Cookie: core.CookieConfig{Insecure: true}} }

func with(c core.Config, f func(*core.Config)) core.Config {
	f(&c)
	return c
}

func teapot(w http.ResponseWriter, r *http.Request, err error) {
	w.WriteHeader(http.StatusTeapot)
	fmt.Fprintf(w, "custom error handler: %d", core.ErrorStatus(err))
}

// env is one scenario's world: the adapter's server, the reference
// server, their shared Manager and store.
type env struct {
	t     *testing.T
	m     *core.Manager
	store *storetest.Counting
	base  string // the adapter
	ref   string // the net/http reference
	hits  *atomic.Int64
	log   *storetest.LogBuffer // what the Manager logged
}

func start(t *testing.T, serve Serve, cfg core.Config) *env {
	t.Helper()
	e := &env{t: t, store: storetest.NewCounting(memstore.New(memstore.Options{})), hits: new(atomic.Int64), log: new(storetest.LogBuffer)}
	cfg.Logger = slog.New(slog.NewTextHandler(e.log, nil))
	if cfg.Keys == nil {
		cfg.Keys = [][]byte{[]byte("adaptertest-signing-key-0123456789abcdef")}
	}
	m, err := core.New(e.store, cfg)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	e.m = m
	routes := StandardRoutes()
	for i := range routes {
		h := routes[i].Handle
		routes[i].Handle = func(r Request, w Writer) {
			e.hits.Add(1)
			h(r, w)
		}
	}
	e.ref = serveReference(t, m, routes)
	e.base = strings.TrimSuffix(serve(t, m, routes), "/")
	return e
}

func serveReference(t *testing.T, m *core.Manager, routes Routes) string {
	srv := httptest.NewServer(m.Handler(Mux(routes)))
	t.Cleanup(srv.Close)
	return srv.URL
}

// response is what the suite keeps of an HTTP response.
type response struct {
	status  int
	body    string
	header  http.Header
	cookies []*http.Cookie
	chunked bool
}

// setCookies returns the normalised Set-Cookie headers.
func (r *response) setCookies() []string { return SetCookies(r.header) }

// client returns an http.Client with a cookie jar, bounded in time.
func (e *env) client() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

var plainClient = &http.Client{Timeout: 20 * time.Second}

// get requests base+path with c, adding the given request headers
// (name, value pairs).
func (e *env) get(c *http.Client, base, path string, header ...string) *response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Add(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("GET %s: reading body: %v", path, err)
	}
	chunked := len(res.TransferEncoding) > 0 && res.TransferEncoding[0] == "chunked"
	return &response{status: res.StatusCode, body: string(body), header: res.Header, cookies: res.Cookies(), chunked: chunked}
}

// expect checks status and body of a response to path.
func (e *env) expect(r *response, path string, status int, body string) {
	e.t.Helper()
	if r.status != status || r.body != body {
		e.t.Fatalf("GET %s = %d %q, want %d %q", path, r.status, r.body, status, body)
	}
}

func (e *env) noSetCookie(r *response, path string) {
	e.t.Helper()
	if sc := r.header.Values("Set-Cookie"); len(sc) > 0 {
		e.t.Fatalf("GET %s sent Set-Cookie %q, want none", path, sc)
	}
}

// token returns the session cookie of a response as a Cookie header value.
func (e *env) token(r *response, path string) string {
	e.t.Helper()
	if len(r.cookies) != 1 || r.cookies[0].Value == "" {
		e.t.Fatalf("GET %s: want one session cookie with a value, got %q", path, r.header.Values("Set-Cookie"))
	}
	return r.cookies[0].Name + "=" + r.cookies[0].Value
}

func (e *env) sameCounts(before counts, what string) {
	e.t.Helper()
	if after := snapshot(e.store); after.writes != before.writes || after.touches != before.touches || after.destroys != before.destroys {
		e.t.Fatalf("%s changed the store: before %+v, after %+v", what, before, after)
	}
}

func testLazy(t *testing.T, e *env) {
	c := e.client()
	r := e.get(c, e.base, "/nop")
	e.expect(r, "/nop", 200, "nop")
	e.noSetCookie(r, "/nop")
	r = e.get(c, e.base, "/read")
	e.expect(r, "/read", 200, "n=none")
	e.noSetCookie(r, "/read")
	if got := snapshot(e.store); got != (counts{}) {
		t.Fatalf("anonymous requests called the store: %+v", got)
	}

	r = e.get(c, e.base, "/new")
	e.expect(r, "/new", 200, "n=1")
	e.token(r, "/new")
	if got := snapshot(e.store).writes; got != 1 {
		t.Fatalf("creating a session made %d writes, want 1", got)
	}
	if cc, v := r.header.Get("Cache-Control"), r.header.Get("Vary"); cc != "no-store" || v != "Cookie" {
		t.Fatalf("GET /new: Cache-Control %q, Vary %q; want no-store, Cookie", cc, v)
	}

	before := snapshot(e.store)
	r = e.get(c, e.base, "/nop")
	e.expect(r, "/nop", 200, "nop")
	if got := snapshot(e.store); got != before {
		t.Fatalf("a request that never touched its session called the store: %+v -> %+v", before, got)
	}
	r = e.get(c, e.base, "/read")
	e.expect(r, "/read", 200, "n=1")
	e.noSetCookie(r, "/read")
	e.sameCounts(before, "a read-only request")
	if got := snapshot(e.store).reads; got != before.reads+1 {
		t.Fatalf("a read request made %d store reads, want 1", got-before.reads)
	}
	// PHP's nocache limiter: a response of a request that used its
	// session is never cached, cookie or not (Back after a logout must not
	// show the signed-in page); one that never touched it is left alone.
	if cc, v := r.header.Get("Cache-Control"), r.header.Get("Vary"); cc != "no-store" || v != "Cookie" {
		t.Fatalf("GET /read: Cache-Control %q, Vary %q; want no-store, Cookie", cc, v)
	}
	if r := e.get(c, e.base, "/nop"); r.header.Get("Cache-Control") != "" || r.header.Get("Vary") != "" {
		t.Fatalf("GET /nop (session untouched): Cache-Control %q, Vary %q; want neither", r.header.Get("Cache-Control"), r.header.Get("Vary"))
	}

	r = e.get(c, e.base, "/incr")
	e.expect(r, "/incr", 200, "n=2")
	e.noSetCookie(r, "/incr")
	if got := snapshot(e.store).writes; got != before.writes+1 {
		t.Fatalf("a write request made %d store writes, want 1", got-before.writes)
	}
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=2")
	e.expect(e.get(c, e.base, "/context"), "/context", 200, "context: same")
}

func testFlash(t *testing.T, e *env) {
	c := e.client()
	e.expect(e.get(c, e.base, "/flash-set"), "/flash-set", 200, "flashed")
	e.expect(e.get(c, e.base, "/flash-get"), "/flash-get", 200, "flashes=hello")
	e.expect(e.get(c, e.base, "/flash-get"), "/flash-get", 200, "flashes=")
}

func testRegenerate(t *testing.T, e *env) {
	c := e.client()
	old := e.token(e.get(c, e.base, "/new"), "/new")
	r := e.get(c, e.base, "/regenerate")
	e.expect(r, "/regenerate", 200, "regenerated")
	if tok := e.token(r, "/regenerate"); tok == old {
		t.Fatal("regenerate re-sent the old token")
	}
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=1")
	r = e.get(plainClient, e.base, "/read", "Cookie", old)
	e.expect(r, "/read (old token)", 200, "n=none")
	e.noSetCookie(r, "/read (old token)")
}

func testDestroy(t *testing.T, e *env) {
	c := e.client()
	old := e.token(e.get(c, e.base, "/new"), "/new")
	before := snapshot(e.store)
	r := e.get(c, e.base, "/destroy")
	e.expect(r, "/destroy", 200, "destroyed")
	sc := r.setCookies()
	if len(sc) != 1 || !strings.Contains(sc[0], "; no value;") || !strings.Contains(sc[0], "max-age=0") {
		t.Fatalf("GET /destroy: Set-Cookie %q, want the cookie expired", r.header.Values("Set-Cookie"))
	}
	if got := snapshot(e.store).destroys; got != before.destroys+1 {
		t.Fatalf("destroy made %d store destroys, want 1", got-before.destroys)
	}
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=none")
	r = e.get(plainClient, e.base, "/read", "Cookie", old)
	e.expect(r, "/read (replayed token)", 200, "n=none")
	e.noSetCookie(r, "/read (replayed token)")
}

func testRemember(t *testing.T, e *env) {
	c := e.client()
	e.get(c, e.base, "/new")
	r := e.get(c, e.base, "/remember")
	e.expect(r, "/remember", 200, "remembered")
	sc := r.setCookies()
	if len(sc) != 1 || !strings.Contains(sc[0], "max-age>0") || !strings.Contains(sc[0], "expires=future") {
		t.Fatalf("GET /remember: Set-Cookie %q, want a persistent cookie", r.header.Values("Set-Cookie"))
	}
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=1")
}

func testTampered(t *testing.T, e *env) {
	good := e.token(e.get(plainClient, e.base, "/new"), "/new")
	name, value, _ := strings.Cut(good, "=")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, tc := range []struct{ name, cookie string }{
		{"last byte flipped", name + "=" + flip(value, len(value)-1)},
		{"first byte flipped", name + "=" + flip(value, 0)},
		{"truncated", name + "=" + value[:len(value)/2]},
		{"empty", name + "="},
		{"garbage", name + "=%%%not-base64%%%"},
		{"oversized", name + "=" + strings.Repeat("A", 5000)},
		{"duplicated", good + "; " + good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := *e
			e.t = t
			before := snapshot(e.store)
			r := e.get(plainClient, e.base, "/read", "Cookie", tc.cookie)
			e.expect(r, "/read", 200, "n=none")
			e.noSetCookie(r, "/read")
			if got := snapshot(e.store); got != before {
				t.Fatalf("a refused token reached the store: %+v -> %+v", before, got)
			}
			r = e.get(plainClient, e.base, "/new", "Cookie", tc.cookie)
			e.expect(r, "/new", 200, "n=1")
			if tok := e.token(r, "/new"); tok == good || tok == tc.cookie {
				t.Fatal("a refused token was adopted")
			}
			e.expect(e.get(plainClient, e.base, "/read", "Cookie", good), "/read (good token)", 200, "n=1")
		})
	}
}

func testStoreDown(t *testing.T, e *env) {
	c := e.client()
	e.get(c, e.base, "/new")
	e.store.Down.Store(true)
	for _, path := range []string{"/read", "/incr", "/stream", "/destroy"} {
		r := e.get(c, e.base, path)
		if r.status != http.StatusServiceUnavailable || strings.Contains(r.body, "n=") || strings.Contains(r.body, "chunk") ||
			strings.Contains(r.body, "destroyed") {
			t.Fatalf("GET %s with the store down = %d %q, want 503 without the handler's output", path, r.status, r.body)
		}
		e.noSetCookie(r, path)
	}
	r := e.get(e.client(), e.base, "/new")
	if r.status != http.StatusServiceUnavailable || strings.Contains(r.body, "n=") {
		t.Fatalf("GET /new (new visitor) with the store down = %d %q, want 503", r.status, r.body)
	}
	e.noSetCookie(r, "/new")
	e.expect(e.get(c, e.base, "/nop"), "/nop", 200, "nop")
	e.store.Down.Store(false)
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=1")
}

func testEagerDown(t *testing.T, e *env) {
	c := e.client()
	e.get(c, e.base, "/new")
	e.store.Down.Store(true)
	hits := e.hits.Load()
	for _, path := range []string{"/read", "/nop"} {
		r := e.get(c, e.base, path)
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("GET %s with the store down and EagerLoad = %d %q, want 503", path, r.status, r.body)
		}
	}
	if got := e.hits.Load(); got != hits {
		t.Fatalf("with EagerLoad and the store down the handler ran %d times, want 0", got-hits)
	}
	e.expect(e.get(plainClient, e.base, "/nop"), "/nop (no token)", 200, "nop")
	e.store.Down.Store(false)
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=1")
}

func testErrorHandler(t *testing.T, e *env) {
	c := e.client()
	e.get(c, e.base, "/new")
	e.store.Down.Store(true)
	e.expect(e.get(c, e.base, "/read"), "/read", http.StatusTeapot, "custom error handler: 503")
}

func testStreaming(t *testing.T, e *env) {
	c := e.client()
	want := ""
	for i := range streamChunks {
		want += fmt.Sprintf("chunk%d;", i)
	}
	r := e.get(c, e.base, "/stream")
	e.expect(r, "/stream", 200, want)
	e.token(r, "/stream")
	if !r.chunked {
		t.Fatal("GET /stream was not streamed (no chunked transfer encoding)")
	}
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=1")
	r = e.get(c, e.base, "/stream")
	e.expect(r, "/stream", 200, want)
	e.noSetCookie(r, "/stream")
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=2")
}

func testLate(t *testing.T, e *env) {
	c := e.client()
	e.get(c, e.base, "/new")
	r := e.get(c, e.base, "/late")
	e.expect(r, "/late", 200, "early;late")
	e.noSetCookie(r, "/late")
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=11")
}

// testLateNew: a session started after the first byte cannot get its
// cookie; the handler must see that in Err (or, where the adapter sends
// the headers after the handler, as Fiber does, get the session).
func testLateNew(t *testing.T, e *env) {
	c := e.client()
	r := e.get(c, e.base, "/late-new")
	if r.status != http.StatusOK || !strings.HasPrefix(r.body, "early;") {
		t.Fatalf("GET /late-new = %d %q", r.status, r.body)
	}
	if len(r.setCookies()) == 0 {
		if r.body != "early;err=true" {
			t.Fatalf("GET /late-new got no cookie, and the handler saw %q: the dropped change was silent", r.body)
		}
		return
	}
	if r.body != "early;err=false" {
		t.Fatalf("GET /late-new got a cookie but the handler saw %q", r.body)
	}
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=1")
}

// testFailedHeaders: when the session fails, the error response carries
// only what the error handler writes, not the handler's own headers.
func testFailedHeaders(t *testing.T, e *env) {
	c := e.client()
	e.get(c, e.base, "/new")
	e.store.Down.Store(true)
	r := e.get(c, e.base, "/headers")
	e.store.Down.Store(false)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("GET /headers with the store down = %d %q, want 503", r.status, r.body)
	}
	for _, h := range []string{"Location", "X-Handler"} {
		if v := r.header.Get(h); v != "" {
			t.Fatalf("the 503 carried the handler's %s: %q", h, v)
		}
	}
	for _, sc := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "auth=") {
			t.Fatalf("the 503 carried the handler's cookie %q", sc)
		}
	}
	e.expect(e.get(c, e.base, "/read"), "/read", 200, "n=1")
}

// testManySessions runs clients with their own sessions side by side over
// keep-alive connections: each must only ever see its own session (an
// adapter that kept a reused request buffer would mix them up).
func testManySessions(t *testing.T, e *env) {
	const clients, rounds = 10, 10
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client()
			res, err := c.Get(e.base + "/new")
			if err != nil {
				errs <- err.Error()
				return
			}
			res.Body.Close()
			for r := range rounds {
				res, err := c.Get(e.base + "/incr")
				if err != nil {
					errs <- err.Error()
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if want := fmt.Sprintf("n=%d", r+2); string(body) != want {
					errs <- fmt.Sprintf("client %d round %d: got %q, want %q", i, r, body, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

func testLocking(t *testing.T, e *env) {
	const n = 100
	tok := e.token(e.get(plainClient, e.base, "/new"), "/new")
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, e.base+"/incr", nil)
			req.Header.Set("Cookie", tok)
			res, err := plainClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				errs <- fmt.Sprintf("%d %s", res.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Errorf("concurrent /incr: %s", msg)
	}
	e.expect(e.get(plainClient, e.base, "/read", "Cookie", tok), "/read", 200, fmt.Sprintf("n=%d", n+1))
	// A read-only request takes no lock and writes nothing.
	before := snapshot(e.store)
	e.expect(e.get(plainClient, e.base, "/readonly", "Cookie", tok), "/readonly", 200, fmt.Sprintf("n=%d", n+1))
	e.sameCounts(before, "a read-only request")
}

func testHeaderTransport(t *testing.T, e *env) {
	r := e.get(plainClient, e.base, "/new")
	e.expect(r, "/new", 200, "n=1")
	tok := r.header.Get("Session-Token")
	if tok == "" {
		t.Fatalf("GET /new: no Session-Token header; headers %v", r.header)
	}
	e.noSetCookie(r, "/new")
	e.expect(e.get(plainClient, e.base, "/incr", "Session-Token", tok), "/incr", 200, "n=2")
	e.expect(e.get(plainClient, e.base, "/read", "Session-Token", tok+"x"), "/read (tampered)", 200, "n=none")
}

// testCookieLifecycle runs the same token-changing sequence on the adapter
// and on the reference and compares every header the session writes.
func testCookieLifecycle(t *testing.T, e *env) {
	steps := []string{"/new", "/remember", "/incr", "/regenerate", "/destroy"}
	run := func(base string) [][]string {
		var out [][]string
		cookie := ""
		for _, path := range steps {
			var r *response
			if cookie == "" {
				r = e.get(plainClient, base, path)
			} else {
				r = e.get(plainClient, base, path, "Cookie", cookie)
			}
			if r.status != 200 {
				t.Fatalf("GET %s%s = %d %q", base, path, r.status, r.body)
			}
			if len(r.cookies) == 1 {
				cookie = r.cookies[0].Name + "=" + r.cookies[0].Value
			}
			out = append(out, append(r.setCookies(), "Cache-Control: "+r.header.Get("Cache-Control"),
				"Vary: "+strings.Join(r.header.Values("Vary"), ",")))
		}
		return out
	}
	got, want := run(e.base), run(e.ref)
	for i := range steps {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("GET %s: adapter sent %q, net/http sent %q", steps[i], got[i], want[i])
		}
	}
	if last := want[len(want)-1]; len(last) == 0 || !strings.Contains(last[0], "max-age=0") {
		t.Errorf("reference /destroy did not expire the cookie: %q", last)
	}
}

// testCookieAttributes checks, for several cookie configurations, that
// the adapter's Set-Cookie is the configured one and equals net/http's.
func testCookieAttributes(t *testing.T, serve Serve) {
	for _, tc := range []struct {
		name   string
		cookie core.CookieConfig
		want   string
	}{
		{"secure default", core.CookieConfig{},
			"__Host-sid; value; httponly; path=/; samesite=lax; secure"},
		{"insecure", core.CookieConfig{Insecure: true},
			"sid; value; httponly; path=/; samesite=lax"},
		{"custom", core.CookieConfig{Name: "app_session", Path: "/app", Domain: "example.test",
			SameSite: http.SameSiteStrictMode, ScriptAccess: true, Insecure: true},
			"app_session; value; domain=example.test; path=/app; samesite=strict"},
		{"partitioned", core.CookieConfig{Name: "__Secure-sid", SameSite: http.SameSiteNoneMode, Partitioned: true},
			"__Secure-sid; value; httponly; partitioned; path=/; samesite=none; secure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, serve, core.Config{Cookie: tc.cookie})
			got := e.get(plainClient, e.base, "/new")
			ref := e.get(plainClient, e.ref, "/new")
			if g, w := got.setCookies(), ref.setCookies(); !reflect.DeepEqual(g, w) {
				t.Fatalf("adapter Set-Cookie %q, net/http %q", got.header.Values("Set-Cookie"), ref.header.Values("Set-Cookie"))
			}
			if g := got.setCookies(); len(g) != 1 || g[0] != tc.want {
				t.Fatalf("Set-Cookie normalised to %q, want %q", g, tc.want)
			}
		})
	}
}

// testPlainHTTPWarning: a Secure cookie sent over plain HTTP to a host
// that is not loopback is dropped by browsers, so the Manager logs it once
// at WARN — whichever adapter committed the session — and not for a
// loopback host or behind a proxy that says the client used HTTPS.
func testPlainHTTPWarning(t *testing.T, e *env) {
	const warning = "over plain HTTP"
	newVisitor := func(header ...string) {
		t.Helper()
		r := e.get(plainClient, e.base, "/incr", header...)
		e.expect(r, "/incr", http.StatusOK, "n=1")
		if len(r.cookies) != 1 || !r.cookies[0].Secure {
			t.Fatalf("/incr set %v, want one Secure cookie", r.header.Values("Set-Cookie"))
		}
	}
	newVisitor()                                                    // 127.0.0.1
	newVisitor("Host", "localhost")                                 // loopback by name
	newVisitor("Host", "app.example", "X-Forwarded-Proto", "https") // HTTPS at the proxy
	if strings.Contains(e.log.String(), warning) {
		t.Fatalf("warned for loopback or HTTPS: %s", e.log.String())
	}
	newVisitor("Host", "app.example:8080")
	newVisitor("Host", "192.0.2.1")
	if n := strings.Count(e.log.String(), warning); n != 1 {
		t.Fatalf("warned %d times, want once, at WARN: %s", n, e.log.String())
	}
	if !strings.Contains(e.log.String(), "level=WARN") || !strings.Contains(e.log.String(), "host=app.example:8080") {
		t.Fatalf("the warning is not at WARN or does not name the host: %s", e.log.String())
	}
}
