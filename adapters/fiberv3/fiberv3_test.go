package fiberv3session_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/sessionkit/sessionkit/adapters/adaptertest"
	fiberv3session "github.com/sessionkit/sessionkit/adapters/fiberv3"
	"github.com/sessionkit/sessionkit/core"
)

// bodyWriter is a route's response on Fiber: what is written before a
// Flush becomes a chunk of a streamed body (SendStreamWriter), the way a
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

func (w *bodyWriter) send(c fiber.Ctx) error {
	if !w.flush {
		return c.Send(w.cur)
	}
	chunks := append(w.chunks, w.cur)
	return c.SendStreamWriter(func(bw *bufio.Writer) {
		for _, ch := range chunks {
			bw.Write(ch)
			if bw.Flush() != nil {
				return
			}
		}
	})
}

// app maps the scenario routes onto a Fiber app behind the middleware.
func app(m *core.Manager, routes adaptertest.Routes) *fiber.App {
	// The suite sends a 5000-byte token to check it is refused; fasthttp's
	// default 4 KiB header limit would refuse it before the session does.
	// IdleTimeout: Shutdown waits for keep-alive connections the test
	// clients leave idle; without it each server takes 90 s to stop.
	a := fiber.New(fiber.Config{ReadBufferSize: 16 << 10, IdleTimeout: 200 * time.Millisecond})
	a.Use(fiberv3session.Middleware(m))
	for _, rt := range routes {
		h := rt.Handle
		a.Get(rt.Path, func(c fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
			w := &bodyWriter{}
			h(adaptertest.Request{Session: fiberv3session.Get(c), Context: c.Context(), SetHeader: c.Set}, w)
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
	go func() { done <- a.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
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
	res, err := a.Test(httptest.NewRequest(http.MethodGet, path, nil), fiber.TestConfig{Timeout: 0})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestFiberResponses checks Fiber's own ways to answer, including a
// returned error: each must carry the session cookie.
func TestFiberResponses(t *testing.T) {
	m := newManager(t, core.Config{})
	a := fiber.New()
	a.Use(fiberv3session.Middleware(m))
	set := func(c fiber.Ctx) { fiberv3session.Get(c).Set("k", "v") }
	a.Get("/string", func(c fiber.Ctx) error {
		set(c)
		return c.Status(http.StatusCreated).SendString("created")
	})
	a.Get("/json", func(c fiber.Ctx) error {
		set(c)
		return c.JSON(fiber.Map{"ok": true})
	})
	a.Get("/nothing", func(c fiber.Ctx) error {
		set(c)
		return nil
	})
	a.Get("/fiber-error", func(c fiber.Ctx) error {
		set(c)
		return fiber.NewError(http.StatusBadRequest, "bad")
	})
	a.Get("/plain-error", func(c fiber.Ctx) error {
		set(c)
		return errors.New("boom")
	})
	a.Get("/redirect", func(c fiber.Ctx) error {
		set(c)
		return c.Redirect().Status(http.StatusFound).To("/string")
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
	a := fiber.New()
	a.Use(fiberv3session.Middleware(m))
	a.Get("/", func(c fiber.Ctx) error {
		fiberv3session.Get(c).Set("k", strings.Repeat("x", 100))
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

// TestSessionInStreamWriter checks what the package doc promises: a body
// stream writer runs after the session was released, so a change made
// there is refused and shows in Err instead of vanishing.
func TestSessionInStreamWriter(t *testing.T) {
	m := newManager(t, core.Config{})
	a := fiber.New()
	// fasthttp starts a stream writer's goroutine at once: this outer
	// middleware tells it when the request (the session's included) ended.
	a.Use(func(c fiber.Ctx) error {
		ended := make(chan struct{})
		c.Locals("ended", ended)
		defer close(ended)
		return c.Next()
	})
	a.Use(fiberv3session.Middleware(m))
	a.Get("/", func(c fiber.Ctx) error {
		s := fiberv3session.Get(c)
		ended := c.Locals("ended").(chan struct{})
		return c.SendStreamWriter(func(w *bufio.Writer) {
			<-ended
			s.Set("k", "v")
			if s.Err() != nil {
				w.WriteString("refused")
				return
			}
			w.WriteString("kept")
		})
	})
	res := get(t, a, "/")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "refused" {
		t.Fatalf("a change inside the stream writer: %q, want refused", body)
	}
	if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("Set-Cookie %q, want none", sc)
	}
}

// TestWithoutMiddleware checks that a handler reached without the
// middleware gets a nil session that is safe to use, not a panic.
func TestWithoutMiddleware(t *testing.T) {
	a := fiber.New()
	a.Get("/", func(c fiber.Ctx) error {
		s := fiberv3session.Get(c)
		s.Set("k", "v")
		_, ok := s.Get("k")
		if _, err := core.FromContext(c.Context()); s != nil || ok || err == nil {
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
