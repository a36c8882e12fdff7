// Command echov5 is the sessionkit demo on Echo v5: a visit counter kept in
// the session, sign in (the session ID is regenerated; a wrong password is
// an error), the session page (values, created, last written, idle and
// absolute deadlines, remember me), sign out (the session is destroyed, and
// a page confirms it). The pages are examples/internal/demo's.
//
//	cd examples && go run ./echov5 [-addr 127.0.0.1:8080]
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	echov5session "github.com/sessionkit/sessionkit/adapters/echov5"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// newEcho maps the demo's pages onto Echo v5 behind the session middleware.
func newEcho(m *core.Manager) *echo.Echo {
	e := echo.New()
	e.Use(middleware.RequestLogger(), middleware.Recover(), echov5session.Middleware(m))
	for _, rt := range demo.Routes("Echo v5") {
		handle := rt.Handle
		e.Add(rt.Method, rt.Path, func(c *echo.Context) error {
			res := handle(echov5session.Get(c), c.FormValue)
			if res.Redirect != "" {
				return c.Redirect(http.StatusSeeOther, res.Redirect)
			}
			return c.Blob(http.StatusOK, res.ContentType, res.Body)
		})
	}
	return e
}

func main() {
	addr := flag.String("addr", demo.DefaultAddr, "listen address")
	flag.Parse()
	m, err := demo.NewManager()
	if err != nil {
		log.Fatal(err)
	}
	err = demo.ListenAndServe(*addr, newEcho(m))
	m.Close()
	if err != nil {
		log.Fatal(err)
	}
}
