package fibersession_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/gofiber/fiber/v2"
	fibersession "github.com/sessionkit/sessionkit/adapters/fiber"
	"github.com/sessionkit/sessionkit/core"
	"github.com/valyala/fasthttp"
)

// The benchmarks call the app's fasthttp handler with a RequestCtx directly
// (app.Test goes through a connection and is far slower than what it
// measures). "bare" is the same route on Fiber without the middleware: the
// adapter's overhead (core included) is the difference.

func benchApp(m *core.Manager) fasthttp.RequestHandler {
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	if m != nil {
		a.Use(fibersession.Middleware(m))
	}
	handle := func(c *fiber.Ctx) error {
		s := fibersession.Get(c)
		switch c.Path() {
		case "/read":
			_, _ = core.Get[int](s, "n")
		case "/write":
			n, _ := core.Get[int](s, "n")
			s.Set("n", n+1)
		case "/new":
			s.Set("n", 1)
		}
		return c.SendString("ok")
	}
	for _, p := range []string{"/read", "/write", "/new"} {
		a.Get(p, handle)
	}
	return a.Handler()
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
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/new")
	benchApp(m)(&ctx)
	var ck fasthttp.Cookie
	if err := ck.ParseBytes(ctx.Response.Header.Peek("Set-Cookie")); err != nil {
		b.Fatal(err)
	}
	return m, string(ck.Key()) + "=" + string(ck.Value())
}

func run(b *testing.B, h fasthttp.RequestHandler, path, cookie string) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(path)
	if cookie != "" {
		ctx.Request.Header.Set("Cookie", cookie)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// What fasthttp's server does between two requests on a connection.
		ctx.Response.Reset()
		ctx.ResetUserValues()
		h(&ctx)
	}
}

func BenchmarkFiber(b *testing.B) {
	b.Run("bare", func(b *testing.B) { run(b, benchApp(nil), "/read", "") })
	b.Run("read", func(b *testing.B) {
		m, cookie := benchManager(b)
		run(b, benchApp(m), "/read", cookie)
	})
	b.Run("write", func(b *testing.B) {
		m, cookie := benchManager(b)
		run(b, benchApp(m), "/write", cookie)
	})
	b.Run("new", func(b *testing.B) {
		m, _ := benchManager(b)
		run(b, benchApp(m), "/new", "")
	})
}
