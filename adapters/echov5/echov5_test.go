package echov5session_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/sessionkit/sessionkit/adapters/adaptertest"
	echov5session "github.com/sessionkit/sessionkit/adapters/echov5"
	"github.com/sessionkit/sessionkit/core"
)

// flusher is a route's response on Echo: c.Response() with Flush reached
// through http.ResponseController, as an Echo v5 handler streams.
type flusher struct{ http.ResponseWriter }

func (w flusher) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// app maps the scenario routes onto an Echo instance behind the middleware.
func app(m *core.Manager, routes adaptertest.Routes) *echo.Echo {
	e := echo.New()
	e.Use(echov5session.Middleware(m))
	for _, rt := range routes {
		h := rt.Handle
		e.GET(rt.Path, func(c *echo.Context) error {
			w := c.Response()
			w.Header().Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
			h(adaptertest.Request{Session: echov5session.Get(c), Context: c.Request().Context(), SetHeader: w.Header().Set}, flusher{w})
			return nil
		})
	}
	return e
}

func TestScenarios(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, m *core.Manager, routes adaptertest.Routes) string {
		srv := httptest.NewServer(app(m, routes))
		t.Cleanup(srv.Close)
		return srv.URL
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

// TestEchoResponses checks Echo's own ways to answer: each must carry the
// session cookie, including a returned error, a Flush before any write,
// a HEAD request (Echo v5's AutoHandleHEAD holds the status back) and a response writer that
// another middleware wraps around the session's.
func TestEchoResponses(t *testing.T) {
	m := newManager(t, core.Config{})
	e := echo.NewWithConfig(echo.Config{Router: echo.NewRouter(echo.RouterConfig{AutoHandleHEAD: true})})
	e.Use(echov5session.Middleware(m))
	set := func(c *echo.Context) { echov5session.Get(c).Set("k", "v") }
	e.GET("/string", func(c *echo.Context) error {
		set(c)
		return c.String(http.StatusCreated, "created")
	})
	e.GET("/json", func(c *echo.Context) error {
		set(c)
		return c.JSON(http.StatusOK, map[string]bool{"ok": true})
	})
	e.GET("/no-content", func(c *echo.Context) error {
		set(c)
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/nothing", func(c *echo.Context) error {
		set(c)
		return nil
	})
	e.GET("/error", func(c *echo.Context) error {
		set(c)
		return echo.NewHTTPError(http.StatusBadRequest, "bad")
	})
	e.GET("/not-found", func(c *echo.Context) error {
		set(c)
		return echo.ErrNotFound
	})
	e.GET("/plain-error", func(c *echo.Context) error {
		set(c)
		return errors.New("boom")
	})
	e.GET("/flush-first", func(c *echo.Context) error {
		set(c)
		if err := http.NewResponseController(c.Response()).Flush(); err != nil {
			return err
		}
		_, err := c.Response().Write([]byte("streamed"))
		return err
	})
	e.GET("/redirect", func(c *echo.Context) error {
		set(c)
		return c.Redirect(http.StatusSeeOther, "/string")
	})
	e.GET("/gzip", func(c *echo.Context) error {
		set(c)
		return c.String(http.StatusOK, strings.Repeat("compressible ", 100))
	}, middleware.Gzip())
	for _, tc := range []struct {
		method, path string
		header       []string
		status       int
	}{
		{"GET", "/string", nil, http.StatusCreated},
		{"GET", "/json", nil, http.StatusOK},
		{"GET", "/no-content", nil, http.StatusNoContent},
		{"GET", "/nothing", nil, http.StatusOK},
		{"GET", "/error", nil, http.StatusBadRequest},
		{"GET", "/not-found", nil, http.StatusNotFound},
		{"GET", "/plain-error", nil, http.StatusInternalServerError},
		{"GET", "/flush-first", nil, http.StatusOK},
		{"GET", "/redirect", nil, http.StatusSeeOther},
		{"GET", "/gzip", []string{"Accept-Encoding", "gzip"}, http.StatusOK},
		{"HEAD", "/string", nil, http.StatusCreated},
	} {
		t.Run(tc.method+strings.ReplaceAll(tc.path, "/", "_"), func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(tc.method, tc.path, nil)
			for i := 0; i+1 < len(tc.header); i += 2 {
				r.Header.Set(tc.header[i], tc.header[i+1])
			}
			e.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (%q)", w.Code, tc.status, w.Body.String())
			}
			if sc := w.Header().Values("Set-Cookie"); len(sc) != 1 || !strings.HasPrefix(sc[0], "sid=") {
				t.Fatalf("Set-Cookie %q, want the session cookie", sc)
			}
		})
	}
}

// TestStatusOfErrorResponse checks that Echo's Response reports the status
// the session's error response was sent with, for loggers that read it,
// and that a custom error handler which skips committed responses does
// not answer twice.
func TestStatusOfErrorResponse(t *testing.T) {
	m := newManager(t, core.Config{MaxDataSize: 64})
	handled := 0
	e := echo.NewWithConfig(echo.Config{HTTPErrorHandler: func(c *echo.Context, err error) {
		if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
			return
		}
		handled++
		_ = c.String(echo.StatusCode(err), "custom")
	}})
	var status int
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			err := next(c)
			if r, uerr := echo.UnwrapResponse(c.Response()); uerr == nil {
				status = r.Status
			}
			return err
		}
	})
	e.Use(echov5session.Middleware(m))
	e.GET("/", func(c *echo.Context) error {
		echov5session.Get(c).Set("k", strings.Repeat("x", 100))
		c.Response().Header().Set("X-Handler", "yes")
		return c.String(http.StatusOK, "handler output")
	})
	e.GET("/fail", func(c *echo.Context) error {
		echov5session.Get(c).Set("k", "v")
		return echo.NewHTTPError(http.StatusBadRequest, "bad")
	})
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusRequestEntityTooLarge || strings.Contains(w.Body.String(), "handler output") {
		t.Fatalf("got %d %q, want 413 without the handler's output", w.Code, w.Body.String())
	}
	if w.Header().Get("X-Handler") != "" {
		t.Fatal("the 413 carried the handler's header")
	}
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("Response.Status = %d, want 413", status)
	}

	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/fail", nil))
	if w.Code != http.StatusBadRequest || w.Body.String() != "custom" || handled != 1 {
		t.Fatalf("got %d %q after %d error handler answers, want 400 \"custom\" once", w.Code, w.Body.String(), handled)
	}
	if sc := w.Header().Values("Set-Cookie"); len(sc) != 1 {
		t.Fatalf("the error handler's response: Set-Cookie %q, want the session cookie", sc)
	}
}

// TestWithoutMiddleware checks that a handler reached without the
// middleware gets a nil session that is safe to use, not a panic.
func TestWithoutMiddleware(t *testing.T) {
	e := echo.New()
	e.GET("/", func(c *echo.Context) error {
		s := echov5session.Get(c)
		s.Set("k", "v")
		_, ok := s.Get("k")
		if _, err := core.FromContext(c.Request().Context()); s != nil || ok || err == nil {
			return c.String(http.StatusInternalServerError, "unexpected session")
		}
		return c.String(http.StatusOK, "no session")
	})
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusOK || w.Body.String() != "no session" {
		t.Fatalf("got %d %q", w.Code, w.Body.String())
	}
}

// TestCustomErrorHandlerOverTheWire: a typical custom HTTPErrorHandler,
// one that writes its own JSON body without checking whether the response
// was committed, must run once and its page (or, when the session fails,
// the session's error body) must reach the client once, through a real
// listener.
func TestCustomErrorHandlerOverTheWire(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       core.Config
		path      string
		status    int
		body      string
		handlerEH int // how often the error handler runs
	}{
		{"session fine, handler error", core.Config{}, "/error", http.StatusTeapot, `{"error":"no coffee"}` + "\n", 1},
		{"session too large, handler error", core.Config{MaxDataSize: 64}, "/error", http.StatusRequestEntityTooLarge, "Request Entity Too Large\n", 1},
		{"session too large, handler writes", core.Config{MaxDataSize: 64}, "/write", http.StatusRequestEntityTooLarge, "Request Entity Too Large\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, tc.cfg)
			calls := 0
			e := echo.NewWithConfig(echo.Config{HTTPErrorHandler: func(c *echo.Context, err error) {
				calls++
				_ = c.JSON(http.StatusTeapot, map[string]string{"error": "no coffee"})
			}})
			e.Use(echov5session.Middleware(m))
			e.GET("/error", func(c *echo.Context) error {
				echov5session.Get(c).Set("k", strings.Repeat("v", 100))
				return errors.New("no coffee")
			})
			e.GET("/write", func(c *echo.Context) error {
				echov5session.Get(c).Set("k", strings.Repeat("v", 100))
				return c.String(http.StatusOK, "handler output")
			})
			srv := httptest.NewServer(e)
			defer srv.Close()
			res, err := srv.Client().Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status || string(b) != tc.body {
				t.Fatalf("got %d %q, want %d %q", res.StatusCode, b, tc.status, tc.body)
			}
			if calls != tc.handlerEH {
				t.Fatalf("the error handler ran %d times, want %d", calls, tc.handlerEH)
			}
			if tc.status == http.StatusTeapot && len(res.Header.Values("Set-Cookie")) != 1 {
				t.Fatalf("the error handler's page: Set-Cookie %q, want the session cookie", res.Header.Values("Set-Cookie"))
			}
		})
	}
}

// TestWriterInterfaces checks, through a real listener, that the writer
// the middleware puts in place of c.Response() is an http.Flusher or
// http.Hijacker exactly when the server's writer is: an HTTP/1 writer has
// both, a writer without them (as HTTP/2 has no Hijack) must not gain them.
func TestWriterInterfaces(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bare   bool // hide the server writer's optional interfaces
		flush  bool
		hijack bool
	}{
		{"HTTP/1 writer", false, true, true},
		{"bare writer", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, core.Config{})
			e := echo.New()
			e.Use(echov5session.Middleware(m))
			e.GET("/", func(c *echo.Context) error {
				echov5session.Get(c).Set("k", "v")
				w := c.Response()
				_, f := w.(http.Flusher)
				_, h := w.(http.Hijacker)
				return c.String(http.StatusOK, fmt.Sprintf("flusher=%v hijacker=%v", f, h))
			})
			var h http.Handler = e
			if tc.bare {
				h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					e.ServeHTTP(struct{ http.ResponseWriter }{w}, r)
				})
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			res, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			want := fmt.Sprintf("flusher=%v hijacker=%v", tc.flush, tc.hijack)
			if string(b) != want || len(res.Header.Values("Set-Cookie")) != 1 {
				t.Fatalf("got %q (Set-Cookie %q), want %q with the session cookie", b, res.Header.Values("Set-Cookie"), want)
			}
		})
	}
}
