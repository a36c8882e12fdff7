package core_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
)

// The benchmarks drive the middleware in-process with a recorder, so they
// measure the session work and not the network. "bare" is the same handler
// without the middleware: the session's overhead is the difference.

func benchHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := core.FromContext(r.Context())
		if err == nil {
			switch r.URL.Path {
			case "/read":
				n, _ := core.Get[int](s, "n")
				_ = n
			case "/write":
				n, _ := core.Get[int](s, "n")
				s.Set("n", n+1)
			case "/new":
				s.Set("n", 1)
			}
		}
		io.WriteString(w, "ok")
	})
}

func benchManager(b *testing.B, cfg core.Config) (*core.Manager, string) {
	cfg.Keys = [][]byte{testKey}
	cfg.Cookie.Insecure = true
	cfg.Logger = quiet
	m, err := core.New(memstore.New(memstore.Options{}), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	// Make one session and keep its cookie.
	rec := httptest.NewRecorder()
	m.Handler(benchHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/new", nil))
	cookie := rec.Result().Cookies()[0]
	return m, cookie.Name + "=" + cookie.Value
}

func runBench(b *testing.B, h http.Handler, path, cookie string) {
	req := httptest.NewRequest("GET", path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
	}
}

// discardWriter is a minimal ResponseWriter, lighter than a recorder, so
// the numbers are the middleware's.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

func BenchmarkMiddleware(b *testing.B) {
	b.Run("bare", func(b *testing.B) { runBench(b, benchHandler(), "/read", "") })
	b.Run("read", func(b *testing.B) {
		m, cookie := benchManager(b, core.Config{})
		runBench(b, m.Handler(benchHandler()), "/read", cookie)
	})
	b.Run("write", func(b *testing.B) {
		m, cookie := benchManager(b, core.Config{})
		runBench(b, m.Handler(benchHandler()), "/write", cookie)
	})
	b.Run("write-locked", func(b *testing.B) {
		m, cookie := benchManager(b, core.Config{Locking: true})
		runBench(b, m.Handler(benchHandler()), "/write", cookie)
	})
	b.Run("new", func(b *testing.B) {
		m, _ := benchManager(b, core.Config{})
		runBench(b, m.Handler(benchHandler()), "/new", "")
	})
	b.Run("untouched", func(b *testing.B) {
		m, cookie := benchManager(b, core.Config{})
		runBench(b, m.Handler(benchHandler()), "/nop", cookie)
	})
}
