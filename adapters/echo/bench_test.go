package echosession_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	echosession "github.com/sessionkit/sessionkit/adapters/echo"
	"github.com/sessionkit/sessionkit/core"
)

// The benchmarks serve in-process requests through a minimal
// ResponseWriter. "bare" is the same route on Echo without the middleware:
// the adapter's overhead (core included) is the difference.

func benchEcho(m *core.Manager) *echo.Echo {
	e := echo.New()
	if m != nil {
		e.Use(echosession.Middleware(m))
	}
	handle := func(c echo.Context) error {
		s := echosession.Get(c)
		switch c.Path() {
		case "/read":
			_, _ = core.Get[int](s, "n")
		case "/write":
			n, _ := core.Get[int](s, "n")
			s.Set("n", n+1)
		case "/new":
			s.Set("n", 1)
		}
		return c.String(http.StatusOK, "ok")
	}
	for _, p := range []string{"/read", "/write", "/new"} {
		e.GET(p, handle)
	}
	return e
}

func benchManager(b *testing.B) (*core.Manager, string) {
	m, err := core.New(nil, core.Config{
		Cookie: core.CookieConfig{Insecure: true},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	rec := httptest.NewRecorder()
	benchEcho(m).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/new", nil))
	c := rec.Result().Cookies()[0]
	return m, c.Name + "=" + c.Value
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func run(b *testing.B, h http.Handler, path, cookie string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

func BenchmarkEcho(b *testing.B) {
	b.Run("bare", func(b *testing.B) { run(b, benchEcho(nil), "/read", "") })
	b.Run("read", func(b *testing.B) {
		m, cookie := benchManager(b)
		run(b, benchEcho(m), "/read", cookie)
	})
	b.Run("write", func(b *testing.B) {
		m, cookie := benchManager(b)
		run(b, benchEcho(m), "/write", cookie)
	})
	b.Run("new", func(b *testing.B) {
		m, _ := benchManager(b)
		run(b, benchEcho(m), "/new", "")
	})
}
