package echosession_test

import (
	"errors"
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
