// Package demotest checks a running demo app over HTTP, the same way for
// every framework: a visit, the favicon, a failed and a successful sign-in,
// the session page, signing out.
package demotest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// Run walks the demo served at baseURL by framework (the name the app
// passed to demo.Routes) through a session's life.
func Run(t *testing.T, baseURL, framework string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	get := func(method, path string, form url.Values) (*http.Response, string) {
		t.Helper()
		var res *http.Response
		if method == http.MethodPost {
			res, err = c.PostForm(baseURL+path, form)
		} else {
			res, err = c.Get(baseURL + path)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return res, string(body)
	}
	// page checks that the page (after any redirect) is HTML naming the
	// framework, with suggestions of what to try next, and holds want.
	page := func(method, path string, form url.Values, want ...string) {
		t.Helper()
		res, body := get(method, path, form)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		want = append(want, `served by <b>`+framework+`</b>`, `id="next"`)
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Fatalf("%s %s: the page lacks %q:\n%s", method, path, w, body)
			}
		}
	}
	sid := func() string {
		for _, ck := range jar.Cookies(u) {
			if ck.Name == "sid" {
				return ck.Value
			}
		}
		return ""
	}

	page(http.MethodGet, "/session", nil, `id="no-session"`)
	if sid() != "" {
		t.Fatal("looking at the session page without a session set a cookie")
	}
	page(http.MethodGet, "/", nil, `id="login"`, `<b id="visits">1</b>`)
	first := sid()
	if first == "" {
		t.Fatal("the first visit set no session cookie")
	}

	// The browser asks for /favicon.ico on every page: it is not a visit,
	// and leaves the session alone (no cookie, no no-store header).
	res, body := get(http.MethodGet, "/favicon.ico", nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
		t.Fatalf("GET /favicon.ico: %d %q %.40q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if sc, cc := res.Header.Values("Set-Cookie"), res.Header.Get("Cache-Control"); len(sc) > 0 || cc == "no-store" {
		t.Fatalf("GET /favicon.ico touched the session: Set-Cookie %q, Cache-Control %q", sc, cc)
	}
	page(http.MethodGet, "/", nil, `<b id="visits">2</b>`)

	page(http.MethodGet, "/session", nil, `id="idhash"`, `<code>visits</code></th><td><code>2 (int)</code>`,
		`id="idle"`, `id="deadline"`, `no: the cookie ends with the browser`)

	// A failed sign-in is an error, shown as one, and changes nothing.
	page(http.MethodPost, "/login", url.Values{"user": {"bob"}, "password": {"wrong"}},
		`<p class="flash error" role="alert">Wrong password for bob`, `id="login"`, `<b id="visits">3</b>`)
	if sid() != first {
		t.Fatal("a failed sign-in changed the session ID")
	}
	page(http.MethodPost, "/login", url.Values{"user": {"bob"}, "password": {demo.Password}, "remember": {"on"}},
		`<p class="flash ok" role="status">Welcome, bob.`, `id="greeting"`, `<b id="visits">4</b>`)
	if after := sid(); after == "" || after == first {
		t.Fatal("signing in did not regenerate the session ID")
	}
	page(http.MethodGet, "/session", nil, `<code>user</code></th><td><code>bob (string)</code>`,
		`<code>visits</code></th><td><code>4 (int)</code>`, `yes: a persistent cookie`)

	// A failed sign-in while signed in says so, and leaves the user signed in.
	page(http.MethodPost, "/login", url.Values{"user": {"eve"}, "password": {"wrong"}},
		`<p class="flash error" role="alert">Wrong password for eve`, "You are still signed in as bob.", `id="greeting"`)

	page(http.MethodPost, "/logout", nil, `id="signed-out"`, "You are signed out.")
	if sid() != "" {
		t.Fatal("the cookie survived signing out")
	}
	page(http.MethodGet, "/signed-out", nil, `id="signed-out"`)
	page(http.MethodGet, "/session", nil, `id="no-session"`)
	if sid() != "" {
		t.Fatal("the confirmation or the session page set a cookie")
	}
	page(http.MethodGet, "/", nil, `id="login"`, `<b id="visits">1</b>`)
}
