package main

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// chromiumPath is Debian's chromium (scripts/services.sh installs it).
const chromiumPath = "/usr/bin/chromium"

// screenshots is where TestBrowser saves its PNGs (overwriting them); the
// README shows them.
var screenshots = filepath.Join("..", "..", "docs", "screenshots")

// TestBrowser drives the Gin demo with headless Chromium through a
// session's life — a visit, the favicon, a wrong password, signing in (the
// ID is regenerated, the data kept), the session page, signing out —
// checking what the pages show and the cookie as the browser stored it, and
// saving a screenshot of each page in docs/screenshots.
func TestBrowser(t *testing.T) {
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found at %s (apt-get install chromium): %v", chromiumPath, err)
		}
		t.Skipf("SKIPPED: chromium not found at %s (apt-get install chromium); CI=true makes this a failure", chromiumPath)
	}
	if err := os.MkdirAll(screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	m, err := demo.NewManager()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	router := newRouter(m)
	var favicons atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			favicons.Add(1)
		}
		router.ServeHTTP(w, r)
	}))
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
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
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
	run("set the window size", chromedp.EmulateViewport(900, 640))
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
	// page checks what every page shows: the framework serving it and
	// what to try next.
	page := func(name string) {
		t.Helper()
		if got := text("#framework"); got != "served by Gin" {
			t.Fatalf("%s: framework line %q", name, got)
		}
		if got := text("#next"); !strings.HasPrefix(got, "Try next") {
			t.Fatalf("%s: no suggestions of what to try next: %q", name, got)
		}
	}
	visits := func(n string) {
		t.Helper()
		if got := text("#visits"); got != n {
			t.Fatalf("the page shows visit %q, want %q", got, n)
		}
	}
	shot := func(name string) {
		t.Helper()
		var buf []byte
		run("screenshot "+name, chromedp.FullScreenshot(&buf, 100))
		img, err := png.Decode(bytes.NewReader(buf))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if r := img.Bounds(); r.Dx() != 900 || r.Dy() < 300 {
			t.Fatalf("screenshot %s is %v, want 900 pixels wide", name, r)
		}
		if err := os.WriteFile(filepath.Join(screenshots, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// background is an element's computed background colour.
	background := func(sel string) string {
		t.Helper()
		var c string
		run("style of "+sel, chromedp.Evaluate(`getComputedStyle(document.querySelector("`+sel+`")).backgroundColor`, &c))
		return c
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

	run("open the session page first", chromedp.Navigate(srv.URL+"/session"), chromedp.WaitVisible("#no-session", chromedp.ByQuery))
	page("session page without a session")
	if c := sessionCookie(); c != nil {
		t.Fatalf("looking at the session page set a cookie: %+v", c)
	}

	run("open the home page", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#login", chromedp.ByQuery))
	page("home")
	visits("1")
	first := sessionCookie()
	if first == nil {
		t.Fatal("no session cookie after the first visit")
	}
	if !first.HTTPOnly || first.SameSite != network.CookieSameSiteLax || first.Path != "/" || first.Secure || !first.Session {
		t.Fatalf("cookie flags: HttpOnly=%v SameSite=%q Path=%q Secure=%v Session=%v; want HttpOnly, Lax, /, not Secure (plain-HTTP demo), a session cookie",
			first.HTTPOnly, first.SameSite, first.Path, first.Secure, first.Session)
	}
	var jsCookies string
	run("read document.cookie", chromedp.Evaluate(`document.cookie`, &jsCookies))
	if jsCookies != "" {
		t.Fatalf("JavaScript can read the cookie: %q", jsCookies)
	}
	shot("home")

	// The favicon is not a visit: fetch it as the browser does for every
	// page, then come back.
	run("open the favicon", chromedp.Navigate(srv.URL+"/favicon.ico"))
	run("reload the home page", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#login", chromedp.ByQuery))
	visits("2")
	if n := favicons.Load(); n < 1 {
		t.Fatalf("the favicon was requested %d times", n)
	}

	submit("sign in with a wrong password",
		chromedp.SendKeys("#user", "alice", chromedp.ByQuery),
		chromedp.SendKeys("#password", "secret", chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
	)
	if got := text(".flash.error"); !strings.HasPrefix(got, "Wrong password for alice") {
		t.Fatalf("error flash %q", got)
	}
	page("failed sign-in")
	visits("3")
	shot("error")
	errorColour := background(".flash.error")

	submit("sign in",
		chromedp.SendKeys("#user", "alice", chromedp.ByQuery),
		chromedp.SendKeys("#password", demo.Password, chromedp.ByQuery),
		chromedp.Click("#remember", chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
	)
	if got := text("#greeting"); got != "Hello, alice." {
		t.Fatalf("greeting %q", got)
	}
	if got := text(".flash.ok"); !strings.HasPrefix(got, "Welcome, alice.") {
		t.Fatalf("success flash %q", got)
	}
	if okColour := background(".flash.ok"); okColour == errorColour {
		t.Fatalf("success and error messages look the same (background %s)", okColour)
	}
	page("signed in")
	visits("4") // the data survived the new ID
	after := sessionCookie()
	if after == nil || after.Value == first.Value {
		t.Fatal("signing in did not regenerate the session ID")
	}
	if !after.HTTPOnly || after.SameSite != network.CookieSameSiteLax || after.Path != "/" || after.Session {
		t.Fatalf("cookie after signing in with \"remember me\": %+v; want HttpOnly, Lax, /, persistent", after)
	}
	shot("signed-in")

	var html string
	run("open the session page",
		chromedp.Navigate(srv.URL+"/session"),
		chromedp.WaitVisible("#idhash", chromedp.ByQuery),
		chromedp.OuterHTML("html", &html, chromedp.ByQuery),
	)
	page("session")
	if h := text("#idhash"); len(h) < 8 {
		t.Fatalf("ID hash %q", h)
	}
	if got := text("#values"); !strings.Contains(got, "user\talice (string)") || !strings.Contains(got, "visits\t4 (int)") {
		t.Fatalf("values %q", got)
	}
	for _, id := range []string{"#created", "#lastseen", "#idle", "#deadline"} {
		if got := text(id); !strings.Contains(got, " UTC") {
			t.Fatalf("%s shows %q, want a time", id, got)
		}
	}
	if got := text("#remembered"); !strings.HasPrefix(got, "yes") {
		t.Fatalf("remember me: %q", got)
	}
	if strings.Contains(html, after.Value) {
		t.Fatal("the session page shows the cookie's token")
	}
	shot("session")

	run("back home", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#logout", chromedp.ByQuery))
	submit("sign out", chromedp.Click("#logout", chromedp.ByQuery))
	run("see the confirmation", chromedp.WaitVisible("#signed-out", chromedp.ByQuery))
	page("signed out")
	if c := sessionCookie(); c != nil {
		t.Fatalf("the cookie survived signing out: %+v", c)
	}
	shot("signed-out")
	t.Logf("the browser asked for the favicon %d times; screenshots in %s", favicons.Load(), screenshots)
}
