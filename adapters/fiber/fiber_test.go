package fibersession_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sessionkit/sessionkit/adapters/adaptertest"
	fibersession "github.com/sessionkit/sessionkit/adapters/fiber"
	"github.com/sessionkit/sessionkit/core"
)

// bodyWriter is a route's response on Fiber: what is written before a
// Flush becomes a chunk of a streamed body (SetBodyStreamWriter), the way a
// Fiber handler streams.
type bodyWriter struct {
	chunks [][]byte
	cur    []byte
	flush  bool
}

func (w *bodyWriter) Write(b []byte) (int, error) {
	w.cur = append(w.cur, b...)
	return len(b), nil
}

func (w *bodyWriter) Flush() {
	w.chunks, w.cur, w.flush = append(w.chunks, w.cur), nil, true
}

func (w *bodyWriter) send(c *fiber.Ctx) error {
	if !w.flush {
		return c.Send(w.cur)
	}
	chunks := append(w.chunks, w.cur)
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		for _, ch := range chunks {
			bw.Write(ch)
			if bw.Flush() != nil {
				return
			}
		}
	})
	return nil
}

// app maps the scenario routes onto a Fiber app behind the middleware.
func app(m *core.Manager, routes adaptertest.Routes) *fiber.App {
	// The suite sends a 5000-byte token to check it is refused; fasthttp's
	// default 4 KiB header limit would refuse it before the session does.
	// IdleTimeout: Shutdown waits for keep-alive connections the test
	// clients leave idle; without it each server takes 90 s to stop.
	a := fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10, IdleTimeout: 200 * time.Millisecond})
	a.Use(fibersession.Middleware(m))
	for _, rt := range routes {
		h := rt.Handle
		a.Get(rt.Path, func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
			w := &bodyWriter{}
			h(adaptertest.Request{Session: fibersession.Get(c), Context: c.UserContext(), SetHeader: func(k, v string) { c.Set(k, v) }}, w)
			return w.send(c)
		})
	}
	return a
}

// serve runs a on 127.0.0.1 until the test ends.
func serve(t *testing.T, a *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	// fasthttp's worker pool sweeps idle workers every MaxIdleWorkerDuration
	// (10 s by default) and notices Shutdown only then: a short one ends
	// the sweeper with the test (goleak, leak_test.go).
	a.Server().MaxIdleWorkerDuration = 20 * time.Millisecond
	go func() { done <- a.Listener(ln) }()
	t.Cleanup(func() {
		// fasthttp's Shutdown waits for every open connection, and the
		// suite's clients (http.DefaultTransport) keep idle keep-alive
		// connections for 90 s: close them first.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if err := a.ShutdownWithTimeout(10 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("listener: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestScenarios(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, m *core.Manager, routes adaptertest.Routes) string {
		return serve(t, app(m, routes))
	})
}

func newManager(t *testing.T, cfg core.Config) *core.Manager {
	t.Helper()
	cfg.Cookie.Insecure = true
	m, err := core.New(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func get(t *testing.T, a *fiber.App, path string) *http.Response {
	t.Helper()
	res, err := a.Test(httptest.NewRequest(http.MethodGet, path, nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestFiberResponses checks Fiber's own ways to answer, including a
// returned error: each must carry the session cookie.
func TestFiberResponses(t *testing.T) {
	m := newManager(t, core.Config{})
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	a.Use(fibersession.Middleware(m))
	set := func(c *fiber.Ctx) { fibersession.Get(c).Set("k", "v") }
	a.Get("/string", func(c *fiber.Ctx) error {
		set(c)
		return c.Status(http.StatusCreated).SendString("created")
	})
	a.Get("/json", func(c *fiber.Ctx) error {
		set(c)
		return c.JSON(fiber.Map{"ok": true})
	})
	a.Get("/nothing", func(c *fiber.Ctx) error {
		set(c)
		return nil
	})
	a.Get("/fiber-error", func(c *fiber.Ctx) error {
		set(c)
		return fiber.NewError(http.StatusBadRequest, "bad")
	})
	a.Get("/plain-error", func(c *fiber.Ctx) error {
		set(c)
		return errors.New("boom")
	})
	a.Get("/redirect", func(c *fiber.Ctx) error {
		set(c)
		return c.Redirect("/string")
	})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/string", http.StatusCreated},
		{"/json", http.StatusOK},
		{"/nothing", http.StatusOK},
		{"/fiber-error", http.StatusBadRequest},
		{"/plain-error", http.StatusInternalServerError},
		{"/redirect", http.StatusFound},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			res := get(t, a, tc.path)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if sc := res.Header.Values("Set-Cookie"); len(sc) != 1 || !strings.HasPrefix(sc[0], "sid=") {
				t.Fatalf("Set-Cookie %q, want the session cookie", sc)
			}
		})
	}
}

// TestErrorResponseReplacesHandler checks that the error response replaces
// the handler's status, headers it shares and body.
func TestErrorResponseReplacesHandler(t *testing.T) {
	m := newManager(t, core.Config{MaxDataSize: 64})
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	a.Use(fibersession.Middleware(m))
	a.Get("/", func(c *fiber.Ctx) error {
		fibersession.Get(c).Set("k", strings.Repeat("x", 100))
		c.Set(fiber.HeaderCacheControl, "max-age=3600")
		return c.Status(http.StatusCreated).SendString("handler output")
	})
	res := get(t, a, "/")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge || strings.Contains(string(body), "handler output") {
		t.Fatalf("got %d %q, want 413 without the handler's output", res.StatusCode, body)
	}
	if cc := res.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store alone", cc)
	}
}

// TestWithoutMiddleware checks that a handler reached without the
// middleware gets a nil session that is safe to use, not a panic.
func TestWithoutMiddleware(t *testing.T) {
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	a.Get("/", func(c *fiber.Ctx) error {
		s := fibersession.Get(c)
		s.Set("k", "v")
		_, ok := s.Get("k")
		if _, err := core.FromContext(c.UserContext()); s != nil || ok || err == nil {
			return c.Status(http.StatusInternalServerError).SendString("unexpected session")
		}
		return c.SendString("no session")
	})
	res := get(t, a, "/")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "no session" {
		t.Fatalf("got %d %q", res.StatusCode, body)
	}
}

// TestSessionFirstUsedInStreamWriter: Fiber runs a body stream writer after
// the middleware returned, so a session first used there is used after its
// request ended. It must say so in Err and take no lock: with locking on,
// the next request of the same session is not kept waiting.
func TestSessionFirstUsedInStreamWriter(t *testing.T) {
	m := newManager(t, core.Config{Locking: true, LockTimeout: 2 * time.Second, Keys: [][]byte{[]byte("fiber-test-signing-key-0123456789abcdef")}})
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	// fasthttp starts a stream writer's goroutine at once: this outer
	// middleware tells it when the request (the session's included) ended.
	a.Use(func(c *fiber.Ctx) error {
		ended := make(chan struct{})
		c.Locals("ended", ended)
		defer close(ended)
		return c.Next()
	})
	a.Use(fibersession.Middleware(m))
	a.Get("/new", func(c *fiber.Ctx) error {
		fibersession.Get(c).Set("n", 1)
		return c.SendString("new")
	})
	a.Get("/stream", func(c *fiber.Ctx) error {
		s := fibersession.Get(c)
		ended := c.Locals("ended").(chan struct{})
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			<-ended
			s.Set("n", 2) // too late: the response is on its way
			fmt.Fprintf(w, "err=%v", errors.Is(s.Err(), core.ErrHeadersSent))
		})
		return nil
	})
	a.Get("/read", func(c *fiber.Ctx) error {
		n, _ := core.Get[int](fibersession.Get(c), "n")
		return c.SendString(strconv.Itoa(n))
	})
	base := serve(t, a)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	getBody := func(path string) (int, string) {
		res, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	getBody("/new")
	if code, body := getBody("/stream"); code != http.StatusOK || body != "err=true" {
		t.Fatalf("/stream = %d %q, want the stream writer to see ErrHeadersSent", code, body)
	}
	if code, body := getBody("/read"); code != http.StatusOK || body != "1" {
		t.Fatalf("/read after the stream = %d %q, want 200 \"1\" (no lock left behind, no late write)", code, body)
	}
}
