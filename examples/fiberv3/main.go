// Command fiberv3 is the sessionkit demo on Fiber v3: a visit counter kept in
// the session, sign in (the session ID is regenerated; a wrong password is
// an error), the session page (values, created, last written, idle and
// absolute deadlines, remember me), sign out (the session is destroyed, and
// a page confirms it). The pages are examples/internal/demo's.
//
//	cd examples && go run ./fiberv3 [-addr 127.0.0.1:8080]
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/logger"
	"github.com/gofiber/fiber/v3/middleware/recover"
	fiberv3session "github.com/sessionkit/sessionkit/adapters/fiberv3"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// newApp maps the demo's pages onto Fiber v3 behind the session middleware.
func newApp(m *core.Manager) *fiber.App {
	app := fiber.New()
	app.Use(logger.New(), recover.New(), fiberv3session.Middleware(m))
	for _, rt := range demo.Routes("Fiber v3") {
		handle := rt.Handle
		app.Add([]string{rt.Method}, rt.Path, func(c fiber.Ctx) error {
			res := handle(fiberv3session.Get(c), func(key string) string { return c.FormValue(key) })
			if res.Redirect != "" {
				return c.Redirect().Status(http.StatusSeeOther).To(res.Redirect)
			}
			c.Set(fiber.HeaderContentType, res.ContentType)
			return c.Send(res.Body)
		})
	}
	return app
}

func main() {
	addr := flag.String("addr", demo.DefaultAddr, "listen address")
	flag.Parse()
	m, err := demo.NewManager()
	if err != nil {
		log.Fatal(err)
	}
	app := newApp(m)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		_ = app.Shutdown()
	}()
	log.Printf("demo: listening on http://%s (Ctrl-C stops)", *addr)
	err = app.Listen(*addr, fiber.ListenConfig{DisableStartupMessage: true})
	m.Close()
	if err != nil {
		log.Fatal(err)
	}
}
