package main

import (
	"context"
	"net"

	gsessions "github.com/gorilla/sessions"
	echocontrib "github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	echosession "github.com/sessionkit/sessionkit/adapters/echo"
	"github.com/sessionkit/sessionkit/core"
)

// serveEcho serves an Echo instance, with echosession's middleware or
// echo-contrib/session over gorilla's cookie store (as bench/ does).
func serveEcho(ln net.Listener, lib string) error {
	e := echo.New()
	n := bare[echo.Context]()
	switch lib {
	case "sessionkit", "sessionkit-locking":
		e.Use(echosession.Middleware(manager(lib)))
		n = counter[echo.Context]{
			get: func(c echo.Context) int { v, _ := core.Get[int](echosession.Get(c), "n"); return v },
			set: func(c echo.Context, v int) { echosession.Get(c).Set("n", v) },
		}
	case "cookie-only":
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				onlyHeaders(c.Request().Header, c.Response().Header())
				return next(c)
			}
		})
	case "floor":
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				req := c.Request()
				f := floorLookup(floorCookie(req.Header.Get("Cookie")))
				onlyHeaders(req.Header, c.Response().Header())
				c.Set("floor", f)
				c.SetRequest(req.WithContext(context.WithValue(req.Context(), floorKey{}, f)))
				return next(c)
			}
		})
		n.get = func(c echo.Context) int { return floorN(c.Get("floor")) }
	case "peer":
		e.Use(echocontrib.Middleware(gsessions.NewCookieStore(key)))
		n = counter[echo.Context]{
			get: func(c echo.Context) int {
				s, _ := echocontrib.Get("session", c)
				v, _ := s.Values["n"].(int)
				return v
			},
			set: func(c echo.Context, v int) {
				s, _ := echocontrib.Get("session", c)
				s.Values["n"] = v
				_ = s.Save(c.Request(), c.Response())
			},
		}
	}
	e.GET("/read", func(c echo.Context) error { return c.String(200, itoa(n.get(c))) })
	e.GET("/write", func(c echo.Context) error {
		v := n.get(c) + 1
		n.set(c, v)
		return c.String(200, itoa(v))
	})
	return serveHTTP(ln, e)
}
