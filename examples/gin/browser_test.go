package main

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// chromiumPath is Debian's chromium (scripts/services.sh installs it).
const chromiumPath = "/usr/bin/chromium"

// TestBrowser drives the Gin demo with headless Chromium: click the counter
// (a session is created), sign in (the ID is regenerated, the data kept),
// click again, sign out (the session is destroyed), checking what the page
// shows and the cookie's flags as the browser stored them.
func TestBrowser(t *testing.T) {
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found at %s (apt-get install chromium): %v", chromiumPath, err)
		}
		t.Skipf("SKIPPED: chromium not found at %s (apt-get install chromium); CI=true makes this a failure", chromiumPath)
	}
	gin.SetMode(gin.ReleaseMode)
	m, err := demo.NewManager()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(newRouter(m))
	defer srv.Close()

	// Chromium's helper processes may still write to the profile for a
	// moment after the browser is gone, so the profile is not a t.TempDir
	// (whose cleanup fails on a directory that is still filling up): it is
	// removed with a few retries.
	profile, err := os.MkdirTemp("", "sessionkit-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for try := 0; try < 50; try++ {
			if err = os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("leaving the Chromium profile %s behind: %v", profile, err)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	)
	defer cancelAlloc()
	b, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	run := func(step string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(b, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	// submit runs actions that submit a form and waits until the page the
	// POST redirects to has loaded.
	submit := func(step string, actions ...chromedp.Action) {
		t.Helper()
		res, err := chromedp.RunResponse(b, actions...)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if res.Status != 200 {
			t.Fatalf("%s: page status %d", step, res.Status)
		}
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
		return strings.TrimSpace(s)
	}
	waitCount := func(n string) {
		t.Helper()
		if got := text("#count"); got != n {
			t.Fatalf("the page shows count %q, want %q", got, n)
		}
	}
	sessionCookie := func() *network.Cookie {
		t.Helper()
		var cookies []*network.Cookie
		run("get cookies", chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			cookies, err = network.GetCookies().WithURLs([]string{srv.URL}).Do(ctx)
			return err
		}))
		for _, c := range cookies {
			if c.Name == "sid" {
				return c
			}
		}
		return nil
	}

	run("open the home page", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#login", chromedp.ByQuery))
	if c := sessionCookie(); c != nil {
		t.Fatalf("an anonymous visit set a cookie: %+v", c)
	}
	waitCount("0")

	submit("click the counter", chromedp.Click("#increment", chromedp.ByQuery))
	waitCount("1")
	before := sessionCookie()
	if before == nil {
		t.Fatal("no session cookie after the first click")
	}
	if !before.HTTPOnly || before.SameSite != network.CookieSameSiteLax || before.Path != "/" || before.Secure || !before.Session {
		t.Fatalf("cookie flags: HttpOnly=%v SameSite=%q Path=%q Secure=%v Session=%v; want HttpOnly, Lax, /, not Secure (plain-HTTP demo), a session cookie",
			before.HTTPOnly, before.SameSite, before.Path, before.Secure, before.Session)
	}
	var jsCookies string
	run("read document.cookie", chromedp.Evaluate(`document.cookie`, &jsCookies))
	if jsCookies != "" {
		t.Fatalf("JavaScript can read the cookie: %q", jsCookies)
	}

	submit("sign in",
		chromedp.SendKeys("#user", "alice", chromedp.ByQuery),
		chromedp.SendKeys("#password", demo.Password, chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
	)
	if got := text("#greeting"); got != "Hello, alice." {
		t.Fatalf("greeting %q", got)
	}
	if got := text(".flash"); got != "Welcome, alice." {
		t.Fatalf("flash %q", got)
	}
	waitCount("1") // the data survived the new ID
	after := sessionCookie()
	if after == nil || after.Value == before.Value {
		t.Fatal("signing in did not regenerate the session ID")
	}
	if !after.HTTPOnly || after.SameSite != network.CookieSameSiteLax || after.Path != "/" {
		t.Fatalf("cookie flags after sign-in: %+v", after)
	}

	submit("click the counter again", chromedp.Click("#increment", chromedp.ByQuery))
	waitCount("2")

	var html string
	run("open the session page",
		chromedp.Navigate(srv.URL+"/session"),
		chromedp.WaitVisible("#idhash", chromedp.ByQuery),
		chromedp.OuterHTML("html", &html, chromedp.ByQuery),
	)
	if h := text("#idhash"); len(h) < 8 {
		t.Fatalf("ID hash %q", h)
	}
	if got := text("#keys"); got != "count, user" {
		t.Fatalf("keys %q", got)
	}
	if strings.Contains(html, after.Value) {
		t.Fatal("the session page shows the cookie's token")
	}

	run("back home", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#logout", chromedp.ByQuery))
	submit("sign out", chromedp.Click("#logout", chromedp.ByQuery))
	run("see the login form", chromedp.WaitVisible("#login", chromedp.ByQuery))
	waitCount("0")
	if c := sessionCookie(); c != nil {
		t.Fatalf("the cookie survived signing out: %+v", c)
	}
}
