package bench

import (
	"testing"

	fiberv3 "github.com/gofiber/fiber/v3"
	fiberv3sess "github.com/gofiber/fiber/v3/middleware/session"
	fiberv3session "github.com/sessionkit/sessionkit/adapters/fiberv3"
	"github.com/sessionkit/sessionkit/core"
	"github.com/valyala/fasthttp"
)

// --- Fiber v3 ---

func fiberV3App(mw fiberv3.Handler, get func(fiberv3.Ctx) int, set func(fiberv3.Ctx, int)) fasthttp.RequestHandler {
	a := fiberv3.New()
	if mw != nil {
		a.Use(mw)
	}
	a.Get("/read", func(c fiberv3.Ctx) error { _ = get(c); return c.SendString("ok") })
	a.Get("/write", func(c fiberv3.Ctx) error { set(c, get(c)+1); return c.SendString("ok") })
	a.Get("/new", func(c fiberv3.Ctx) error { set(c, 1); return c.SendString("ok") })
	return a.Handler()
}

// BenchmarkFiberV3 measures the Fiber v3 adapter beside bare Fiber v3 and
// Fiber v3's own session middleware (memory storage, its default), through
// the same fasthttp request path as BenchmarkFiber.
func BenchmarkFiberV3(b *testing.B) {
	b.Run("bare/read", func(b *testing.B) {
		fiberServe(b, fiberV3App(nil, func(fiberv3.Ctx) int { return 0 }, func(fiberv3.Ctx, int) {}), "/read", "")
	})
	fiberBench(b, "sessionkit", func(b *testing.B) fasthttp.RequestHandler {
		return fiberV3App(fiberv3session.Middleware(manager(b)),
			func(c fiberv3.Ctx) int { n, _ := core.Get[int](fiberv3session.Get(c), "n"); return n },
			func(c fiberv3.Ctx, n int) { fiberv3session.Get(c).Set("n", n) })
	})
	fiberBench(b, "fiber-session", func(b *testing.B) fasthttp.RequestHandler {
		// The middleware saves the session after the handler, as
		// sessionkit's does; handlers only read and set.
		return fiberV3App(fiberv3sess.New(),
			func(c fiberv3.Ctx) int { n, _ := fiberv3sess.FromContext(c).Get("n").(int); return n },
			func(c fiberv3.Ctx, n int) { fiberv3sess.FromContext(c).Set("n", n) })
	})
}
