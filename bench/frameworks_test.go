package bench

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	ginsessions "github.com/gin-contrib/sessions"
	gincookie "github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fibersess "github.com/gofiber/fiber/v2/middleware/session"
	gsessions "github.com/gorilla/sessions"
	echocontrib "github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	echosession "github.com/sessionkit/sessionkit/adapters/echo"
	fibersession "github.com/sessionkit/sessionkit/adapters/fiber"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	"github.com/sessionkit/sessionkit/core"
	"github.com/valyala/fasthttp"
)

var scenarios = []string{"read", "write", "new"}

func manager(b *testing.B) *core.Manager {
	m, err := core.New(nil, core.Config{Keys: [][]byte{key}, Cookie: core.CookieConfig{Insecure: true},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// netHTTPBench runs the three scenarios against an http.Handler built by mk.
func netHTTPBench(b *testing.B, name string, mk func(b *testing.B) http.Handler) {
	for _, sc := range scenarios {
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

// --- Gin ---

func ginApp(mw gin.HandlerFunc, get func(*gin.Context) int, set func(*gin.Context, int)) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if mw != nil {
		r.Use(mw)
	}
	r.GET("/read", func(c *gin.Context) { _ = get(c); c.String(200, "ok") })
	r.GET("/write", func(c *gin.Context) { set(c, get(c)+1); c.String(200, "ok") })
	r.GET("/new", func(c *gin.Context) { set(c, 1); c.String(200, "ok") })
	return r
}

func BenchmarkGin(b *testing.B) {
	b.Run("bare/read", func(b *testing.B) {
		serve(b, ginApp(nil, func(*gin.Context) int { return 0 }, func(*gin.Context, int) {}), "/read", "")
	})
	netHTTPBench(b, "sessionkit", func(b *testing.B) http.Handler {
		return ginApp(ginsession.Middleware(manager(b)),
			func(c *gin.Context) int { n, _ := core.Get[int](ginsession.Get(c), "n"); return n },
			func(c *gin.Context, n int) { ginsession.Get(c).Set("n", n) })
	})
	netHTTPBench(b, "gin-contrib-cookie", func(b *testing.B) http.Handler {
		store := gincookie.NewStore(key)
		return ginApp(ginsessions.Sessions("session", store),
			func(c *gin.Context) int { n, _ := ginsessions.Default(c).Get("n").(int); return n },
			func(c *gin.Context, n int) { s := ginsessions.Default(c); s.Set("n", n); s.Save() })
	})
}

// --- Echo ---

func echoApp(mws []echo.MiddlewareFunc, get func(echo.Context) int, set func(echo.Context, int)) http.Handler {
	e := echo.New()
	e.Use(mws...)
	e.GET("/read", func(c echo.Context) error { _ = get(c); return c.String(200, "ok") })
	e.GET("/write", func(c echo.Context) error { set(c, get(c)+1); return c.String(200, "ok") })
	e.GET("/new", func(c echo.Context) error { set(c, 1); return c.String(200, "ok") })
	return e
}

func BenchmarkEcho(b *testing.B) {
	b.Run("bare/read", func(b *testing.B) {
		serve(b, echoApp(nil, func(echo.Context) int { return 0 }, func(echo.Context, int) {}), "/read", "")
	})
	netHTTPBench(b, "sessionkit", func(b *testing.B) http.Handler {
		return echoApp([]echo.MiddlewareFunc{echosession.Middleware(manager(b))},
			func(c echo.Context) int { n, _ := core.Get[int](echosession.Get(c), "n"); return n },
			func(c echo.Context, n int) { echosession.Get(c).Set("n", n) })
	})
	netHTTPBench(b, "echo-contrib-cookie", func(b *testing.B) http.Handler {
		store := gsessions.NewCookieStore(key)
		get := func(c echo.Context) int {
			s, _ := echocontrib.Get("session", c)
			n, _ := s.Values["n"].(int)
			return n
		}
		set := func(c echo.Context, n int) {
			s, _ := echocontrib.Get("session", c)
			s.Values["n"] = n
			s.Save(c.Request(), c.Response())
		}
		return echoApp([]echo.MiddlewareFunc{echocontrib.Middleware(store)}, get, set)
	})
}

// --- Fiber ---

func fiberApp(mw fiber.Handler, get func(*fiber.Ctx) int, set func(*fiber.Ctx, int)) fasthttp.RequestHandler {
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	if mw != nil {
		a.Use(mw)
	}
	a.Get("/read", func(c *fiber.Ctx) error { _ = get(c); return c.SendString("ok") })
	a.Get("/write", func(c *fiber.Ctx) error { set(c, get(c)+1); return c.SendString("ok") })
	a.Get("/new", func(c *fiber.Ctx) error { set(c, 1); return c.SendString("ok") })
	return a.Handler()
}

func fiberCookie(b *testing.B, h fasthttp.RequestHandler) string {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/new")
	h(&ctx)
	var ck fasthttp.Cookie
	if err := ck.ParseBytes(ctx.Response.Header.Peek("Set-Cookie")); err != nil {
		b.Fatal(err)
	}
	return string(ck.Key()) + "=" + string(ck.Value())
}

func fiberServe(b *testing.B, h fasthttp.RequestHandler, path, cookie string) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(path)
	if cookie != "" {
		ctx.Request.Header.Set("Cookie", cookie)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Response.Reset()
		ctx.ResetUserValues()
		h(&ctx)
	}
}

func fiberBench(b *testing.B, name string, mk func(b *testing.B) fasthttp.RequestHandler) {
	for _, sc := range scenarios {
		b.Run(name+"/"+sc, func(b *testing.B) {
			h := mk(b)
			cookie := ""
			if sc != "new" {
				cookie = fiberCookie(b, h)
			}
			fiberServe(b, h, "/"+sc, cookie)
		})
	}
}

func BenchmarkFiber(b *testing.B) {
	b.Run("bare/read", func(b *testing.B) {
		fiberServe(b, fiberApp(nil, func(*fiber.Ctx) int { return 0 }, func(*fiber.Ctx, int) {}), "/read", "")
	})
	fiberBench(b, "sessionkit", func(b *testing.B) fasthttp.RequestHandler {
		return fiberApp(fibersession.Middleware(manager(b)),
			func(c *fiber.Ctx) int { n, _ := core.Get[int](fibersession.Get(c), "n"); return n },
			func(c *fiber.Ctx, n int) { fibersession.Get(c).Set("n", n) })
	})
	fiberBench(b, "fiber-session", func(b *testing.B) fasthttp.RequestHandler {
		store := fibersess.New()
		get := func(c *fiber.Ctx) int {
			s, err := store.Get(c)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := s.Get("n").(int)
			return n
		}
		set := func(c *fiber.Ctx, n int) {
			s, err := store.Get(c)
			if err != nil {
				b.Fatal(err)
			}
			s.Set("n", n)
			s.Save()
		}
		return fiberApp(nil, get, set)
	})
}
