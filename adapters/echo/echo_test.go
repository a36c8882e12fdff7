package echosession_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/sessionkit/sessionkit/adapters/adaptertest"
	echosession "github.com/sessionkit/sessionkit/adapters/echo"
	"github.com/sessionkit/sessionkit/core"
)

// app maps the scenario routes onto an Echo instance behind the middleware.
func app(m *core.Manager, routes adaptertest.Routes) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(echosession.Middleware(m))
	for _, rt := range routes {
		h := rt.Handle
		e.GET(rt.Path, func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
			h(adaptertest.Request{Session: echosession.Get(c), Context: c.Request().Context(), SetHeader: c.Response().Header().Set}, c.Response())
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
// session cookie, including a returned error and a Flush before any write.
func TestEchoResponses(t *testing.T) {
	m := newManager(t, core.Config{})
	e := echo.New()
	e.Use(echosession.Middleware(m))
	set := func(c echo.Context) { echosession.Get(c).Set("k", "v") }
	e.GET("/string", func(c echo.Context) error {
		set(c)
		return c.String(http.StatusCreated, "created")
	})
	e.GET("/json", func(c echo.Context) error {
		set(c)
		return c.JSON(http.StatusOK, map[string]bool{"ok": true})
	})
	e.GET("/no-content", func(c echo.Context) error {
		set(c)
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/nothing", func(c echo.Context) error {
		set(c)
		return nil
	})
	e.GET("/error", func(c echo.Context) error {
		set(c)
		return echo.NewHTTPError(http.StatusBadRequest, "bad")
	})
	e.GET("/plain-error", func(c echo.Context) error {
		set(c)
		return errors.New("boom")
	})
	e.GET("/flush-first", func(c echo.Context) error {
		set(c)
		c.Response().Flush()
		_, err := c.Response().Write([]byte("streamed"))
		return err
	})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/string", http.StatusCreated},
		{"/json", http.StatusOK},
		{"/no-content", http.StatusNoContent},
		{"/nothing", http.StatusOK},
		{"/error", http.StatusBadRequest},
		{"/plain-error", http.StatusInternalServerError},
		{"/flush-first", http.StatusOK},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			w := httptest.NewRecorder()
			e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
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
// the session's error response was sent with, for loggers that read it.
func TestStatusOfErrorResponse(t *testing.T) {
	m := newManager(t, core.Config{MaxDataSize: 64})
	e := echo.New()
	var status int
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			status = c.Response().Status
			return err
		}
	})
	e.Use(echosession.Middleware(m))
	e.GET("/", func(c echo.Context) error {
		echosession.Get(c).Set("k", strings.Repeat("x", 100))
		return c.String(http.StatusOK, "handler output")
	})
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusRequestEntityTooLarge || strings.Contains(w.Body.String(), "handler output") {
		t.Fatalf("got %d %q, want 413 without the handler's output", w.Code, w.Body.String())
	}
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("Response().Status = %d, want 413", status)
	}
}

// TestWithoutMiddleware checks that a handler reached without the
// middleware gets a nil session that is safe to use, not a panic.
func TestWithoutMiddleware(t *testing.T) {
	e := echo.New()
	e.GET("/", func(c echo.Context) error {
		s := echosession.Get(c)
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

// TestCustomErrorHandlerWritesOnce: a typical custom HTTPErrorHandler
// (one that does not check Response().Committed) must write its page once,
// with the session's cookie, also when the session itself fails.
func TestCustomErrorHandlerWritesOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    core.Config
		status int
		body   string
	}{
		{"session fine", core.Config{}, http.StatusTeapot, `{"error":"no coffee"}` + "\n"},
		{"session too large", core.Config{MaxDataSize: 64}, http.StatusRequestEntityTooLarge, "Request Entity Too Large\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, tc.cfg)
			e := echo.New()
			calls := 0
			e.HTTPErrorHandler = func(err error, c echo.Context) {
				calls++
				_ = c.JSON(http.StatusTeapot, map[string]string{"error": "no coffee"})
			}
			e.Use(echosession.Middleware(m))
			e.GET("/", func(c echo.Context) error {
				echosession.Get(c).Set("k", strings.Repeat("v", 100))
				return errors.New("no coffee")
			})
			w := httptest.NewRecorder()
			e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			if w.Code != tc.status || w.Body.String() != tc.body {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body.String(), tc.status, tc.body)
			}
			if calls != 1 {
				t.Fatalf("the error handler ran %d times, want once", calls)
			}
		})
	}
}

// TestCustomErrorHandlerOverTheWire: a typical custom HTTPErrorHandler,
// one that writes its own JSON body without checking Response().Committed,
// must run at most once and its page (or, when the session fails, the
// session's error body) must reach the client once, through a real
// listener.
func TestCustomErrorHandlerOverTheWire(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    core.Config
		path   string
		status int
		body   string
		calls  int // how often the error handler runs
	}{
		{"session fine, handler error", core.Config{}, "/error", http.StatusTeapot, `{"error":"no coffee"}` + "\n", 1},
		{"session too large, handler error", core.Config{MaxDataSize: 64}, "/error", http.StatusRequestEntityTooLarge, "Request Entity Too Large\n", 1},
		{"session too large, handler writes", core.Config{MaxDataSize: 64}, "/write", http.StatusRequestEntityTooLarge, "Request Entity Too Large\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, tc.cfg)
			e := echo.New()
			e.HideBanner, e.HidePort = true, true
			calls := 0
			e.HTTPErrorHandler = func(err error, c echo.Context) {
				calls++
				_ = c.JSON(http.StatusTeapot, map[string]string{"error": "no coffee"})
			}
			e.Use(echosession.Middleware(m))
			e.GET("/error", func(c echo.Context) error {
				echosession.Get(c).Set("k", strings.Repeat("v", 100))
				return errors.New("no coffee")
			})
			e.GET("/write", func(c echo.Context) error {
				echosession.Get(c).Set("k", strings.Repeat("v", 100))
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
			if calls != tc.calls {
				t.Fatalf("the error handler ran %d times, want %d", calls, tc.calls)
			}
			if tc.status == http.StatusTeapot && len(res.Header.Values("Set-Cookie")) != 1 {
				t.Fatalf("the error handler's page: Set-Cookie %q, want the session cookie", res.Header.Values("Set-Cookie"))
			}
		})
	}
}

// TestWriterInterfaces checks, through a real listener, that the writer
// under Echo's Response is an http.Flusher or http.Hijacker exactly when
// the server's writer is: an HTTP/1 writer has both, a writer without them
// (as HTTP/2 has no Hijack) must not gain them.
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
			e.Use(echosession.Middleware(m))
			e.GET("/", func(c echo.Context) error {
				echosession.Get(c).Set("k", "v")
				w := c.Response().Writer
				_, f := w.(http.Flusher)
				_, h := w.(http.Hijacker)
				ferr := http.NewResponseController(w).Flush()
				return c.String(http.StatusOK, fmt.Sprintf("flusher=%v hijacker=%v flush-unsupported=%v",
					f, h, errors.Is(ferr, http.ErrNotSupported)))
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
			want := fmt.Sprintf("flusher=%v hijacker=%v flush-unsupported=%v", tc.flush, tc.hijack, !tc.flush)
			if string(b) != want || len(res.Header.Values("Set-Cookie")) != 1 {
				t.Fatalf("got %q (Set-Cookie %q), want %q with the session cookie", b, res.Header.Values("Set-Cookie"), want)
			}
		})
	}
}
