package main

import (
	"context"
	"net"

	"github.com/gofiber/fiber/v2"
	fibersess "github.com/gofiber/fiber/v2/middleware/session"
	fibersession "github.com/sessionkit/sessionkit/adapters/fiber"
	"github.com/sessionkit/sessionkit/core"
)

// serveFiber serves a Fiber v2 app, with fibersession's middleware or
// Fiber's own session middleware over its memory storage.
func serveFiber(ln net.Listener, lib string) error {
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	n := bare[*fiber.Ctx]()
	switch lib {
	case "sessionkit", "sessionkit-locking":
		a.Use(fibersession.Middleware(manager(lib)))
		n = counter[*fiber.Ctx]{
			get: func(c *fiber.Ctx) int { v, _ := core.Get[int](fibersession.Get(c), "n"); return v },
			set: func(c *fiber.Ctx, v int) { fibersession.Get(c).Set("n", v) },
		}
	case "cookie-only":
		a.Use(func(c *fiber.Ctx) error {
			if c.Cookies(onlyCookieName) == "" {
				c.Response().Header.Add("Set-Cookie", onlyCookie)
			}
			c.Set("Cache-Control", noStore[0])
			c.Set("Vary", varyCookie[0])
			return c.Next()
		})
	case "floor":
		a.Use(func(c *fiber.Ctx) error {
			f := floorLookup(c.Cookies(onlyCookieName))
			if c.Cookies(onlyCookieName) == "" {
				c.Response().Header.Add("Set-Cookie", onlyCookie)
			}
			c.Set("Cache-Control", noStore[0])
			c.Set("Vary", varyCookie[0])
			c.Locals(floorKey{}, f)
			c.SetUserContext(context.WithValue(c.UserContext(), floorKey{}, f))
			return c.Next()
		})
		n.get = func(c *fiber.Ctx) int { return floorN(c.Locals(floorKey{})) }
	case "peer":
		// Fiber's session is fetched in the handler; a middleware fetches
		// it once per request here, as the other libraries' do.
		store := fibersess.New()
		a.Use(func(c *fiber.Ctx) error {
			s, err := store.Get(c)
			if err != nil {
				return err
			}
			c.Locals(fiberSessionKey{}, s)
			return c.Next()
		})
		session := func(c *fiber.Ctx) *fibersess.Session { return c.Locals(fiberSessionKey{}).(*fibersess.Session) }
		n = counter[*fiber.Ctx]{
			get: func(c *fiber.Ctx) int { v, _ := session(c).Get("n").(int); return v },
			set: func(c *fiber.Ctx, v int) {
				s := session(c)
				s.Set("n", v)
				_ = s.Save()
			},
		}
	}
	a.Get("/read", func(c *fiber.Ctx) error { return c.SendString(itoa(n.get(c))) })
	a.Get("/write", func(c *fiber.Ctx) error {
		v := n.get(c) + 1
		n.set(c, v)
		return c.SendString(itoa(v))
	})
	return a.Listener(ln)
}

type fiberSessionKey struct{}
