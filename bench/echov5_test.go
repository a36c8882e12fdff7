package bench

import (
	"net/http"
	"testing"

	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	gsessions "github.com/gorilla/sessions"
	echov5 "github.com/labstack/echo/v5"
	echov5session "github.com/sessionkit/sessionkit/adapters/echov5"
	"github.com/sessionkit/sessionkit/core"
)

// --- Echo v5 ---

func echoV5App(mws []echov5.MiddlewareFunc, get func(*echov5.Context) int, set func(*echov5.Context, int)) http.Handler {
	e := echov5.New()
	e.Use(mws...)
	e.GET("/read", func(c *echov5.Context) error { _ = get(c); return c.String(200, "ok") })
	e.GET("/write", func(c *echov5.Context) error { set(c, get(c)+1); return c.String(200, "ok") })
	e.GET("/new", func(c *echov5.Context) error { set(c, 1); return c.String(200, "ok") })
	return e
}

// BenchmarkEchoV5 measures the Echo v5 adapter beside bare Echo v5 and the
// session libraries an Echo v5 app can use today. Echo has no session
// middleware of its own, and echo-contrib has no release for Echo v5 on
// the module proxy (its latest, v0.50.1, requires echo/v4 and retracts
// v0.50.0 in favour of a v5 series that is not published). So its place
// is taken by gorilla/sessions' cookie store, the library echo-contrib's
// session package wraps, used the way that package uses it; and by scs, the
// net/http peer, mounted with echo.WrapMiddleware.
func BenchmarkEchoV5(b *testing.B) {
	b.Run("bare/read", func(b *testing.B) {
		serve(b, echoV5App(nil, func(*echov5.Context) int { return 0 }, func(*echov5.Context, int) {}), "/read", "")
	})
	netHTTPBench(b, "sessionkit", func(b *testing.B) http.Handler {
		return echoV5App([]echov5.MiddlewareFunc{echov5session.Middleware(manager(b))},
			func(c *echov5.Context) int { n, _ := core.Get[int](echov5session.Get(c), "n"); return n },
			func(c *echov5.Context, n int) { echov5session.Get(c).Set("n", n) })
	})
	netHTTPBench(b, "gorilla-sessions-cookie", func(b *testing.B) http.Handler {
		store := gsessions.NewCookieStore(key)
		get := func(c *echov5.Context) int {
			s, _ := store.Get(c.Request(), "session")
			n, _ := s.Values["n"].(int)
			return n
		}
		set := func(c *echov5.Context, n int) {
			s, _ := store.Get(c.Request(), "session")
			s.Values["n"] = n
			s.Save(c.Request(), c.Response())
		}
		return echoV5App(nil, get, set)
	})
	netHTTPBench(b, "scs", func(b *testing.B) http.Handler {
		sm := scs.New()
		// No sweeper goroutine: the benchmark needs none, and stopping
		// scs's races with its start under -race.
		sm.Store = scsmem.NewWithCleanupInterval(0)
		return echoV5App([]echov5.MiddlewareFunc{echov5.WrapMiddleware(sm.LoadAndSave)},
			func(c *echov5.Context) int { return sm.GetInt(c.Request().Context(), "n") },
			func(c *echov5.Context, n int) { sm.Put(c.Request().Context(), "n", n) })
	})
}
