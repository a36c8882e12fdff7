package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/sessionkit/sessionkit/core"
)

var key = []byte("bench-key-bench-key-bench-key-32")

// discard is a minimal ResponseWriter so that the numbers are the
// middleware's and not a recorder's.
type discard struct{ h http.Header }

func (w *discard) Header() http.Header         { return w.h }
func (w *discard) Write(b []byte) (int, error) { return len(b), nil }
func (w *discard) WriteHeader(int)             {}

// firstCookie runs one request through h and returns "name=value" of the
// cookie it set.
func firstCookie(b *testing.B, h http.Handler, path string) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	cs := rec.Result().Cookies()
	if len(cs) == 0 {
		b.Fatal("no cookie set")
	}
	return cs[0].Name + "=" + cs[0].Value
}

func serve(b *testing.B, h http.Handler, path, cookie string) {
	req := httptest.NewRequest("GET", path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A fresh *http.Request each time, as a server makes: libraries
		// that cache per request pointer (gorilla/sessions' registry) must
		// not be served from their cache.
		r := *req
		h.ServeHTTP(&discard{h: http.Header{}}, &r)
	}
}

type sessionAPI struct {
	get func(r *http.Request) int
	set func(r *http.Request, n int)
}

func handler(api sessionAPI) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/read":
			_ = api.get(r)
		case "/write":
			api.set(r, api.get(r)+1)
		case "/new":
			api.set(r, 1)
		}
		io.WriteString(w, "ok")
	})
}

func sessionkitNetHTTP(b *testing.B) http.Handler {
	m, err := core.New(nil, core.Config{Keys: [][]byte{key}, Cookie: core.CookieConfig{Insecure: true}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m.Handler(handler(sessionAPI{
		get: func(r *http.Request) int {
			s, _ := core.FromContext(r.Context())
			n, _ := core.Get[int](s, "n")
			return n
		},
		set: func(r *http.Request, n int) {
			s, _ := core.FromContext(r.Context())
			s.Set("n", n)
		},
	}))
}

func scsNetHTTP(b *testing.B) http.Handler {
	sm := scs.New()
	store := scsmem.New()
	b.Cleanup(store.StopCleanup)
	sm.Store = store
	return sm.LoadAndSave(handler(sessionAPI{
		get: func(r *http.Request) int { return sm.GetInt(r.Context(), "n") },
		set: func(r *http.Request, n int) { sm.Put(r.Context(), "n", n) },
	}))
}

func BenchmarkNetHTTP(b *testing.B) {
	b.Run("bare/read", func(b *testing.B) {
		serve(b, handler(sessionAPI{get: func(*http.Request) int { return 0 }, set: func(*http.Request, int) {}}), "/read", "")
	})
	libs := map[string]func(*testing.B) http.Handler{"sessionkit": sessionkitNetHTTP, "scs": scsNetHTTP}
	for _, name := range []string{"sessionkit", "scs"} {
		mk := libs[name]
		for _, sc := range []string{"read", "write", "new"} {
			b.Run(name+"/"+sc, func(b *testing.B) {
				h := mk(b)
				cookie := ""
				if sc != "new" {
					cookie = firstCookie(b, h, "/new")
				}
				serve(b, h, "/"+sc, cookie)
			})
		}
	}
}
