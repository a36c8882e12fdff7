// Package demotest checks a running demo app over HTTP, the same way for
// every framework: sign in, count, the session page, sign out.
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

// Run walks the demo served at baseURL through a session's life.
func Run(t *testing.T, baseURL string) {
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
	page := func(method, path string, form url.Values, want ...string) {
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
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		for _, w := range want {
			if !strings.Contains(string(body), w) {
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

	page(http.MethodGet, "/", nil, `id="login"`, `<span id="count">0</span>`)
	page(http.MethodGet, "/session", nil, `id="no-session"`)
	if sid() != "" {
		t.Fatal("an anonymous visit set a cookie")
	}
	page(http.MethodPost, "/login", url.Values{"user": {"bob"}, "password": {"wrong"}}, "Wrong password", `id="login"`)
	page(http.MethodPost, "/count", nil, `<span id="count">1</span>`)
	before := sid()
	page(http.MethodPost, "/login", url.Values{"user": {"bob"}, "password": {demo.Password}},
		"Welcome, bob.", `id="greeting"`, `<span id="count">1</span>`)
	if after := sid(); after == "" || after == before {
		t.Fatal("signing in did not regenerate the session ID")
	}
	page(http.MethodPost, "/count", nil, `<span id="count">2</span>`)
	page(http.MethodGet, "/session", nil, `id="idhash"`, "count, user", `<td id="remembered">false</td>`)
	page(http.MethodPost, "/logout", nil, `id="login"`, `<span id="count">0</span>`)
	if sid() != "" {
		t.Fatal("the cookie survived signing out")
	}
}
