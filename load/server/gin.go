package main

import (
	"context"
	"net"

	ginsessions "github.com/gin-contrib/sessions"
	gincookie "github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	"github.com/sessionkit/sessionkit/core"
)

// serveGin serves a Gin engine, with ginsession's middleware or
// gin-contrib/sessions over its cookie store (as bench/ does).
func serveGin(ln net.Listener, lib string) error {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	n := bare[*gin.Context]()
	switch lib {
	case "sessionkit", "sessionkit-locking":
		r.Use(ginsession.Middleware(manager(lib)))
		n = counter[*gin.Context]{
			get: func(c *gin.Context) int { v, _ := core.Get[int](ginsession.Get(c), "n"); return v },
			set: func(c *gin.Context, v int) { ginsession.Get(c).Set("n", v) },
		}
	case "cookie-only":
		r.Use(func(c *gin.Context) {
			onlyHeaders(c.Request.Header, c.Writer.Header())
		})
	case "floor":
		r.Use(func(c *gin.Context) {
			e := floorLookup(floorCookie(c.Request.Header.Get("Cookie")))
			onlyHeaders(c.Request.Header, c.Writer.Header())
			c.Set("floor", e)
			c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), floorKey{}, e))
		})
		n.get = func(c *gin.Context) int { v, _ := c.Get("floor"); return floorN(v) }
	case "peer":
		r.Use(ginsessions.Sessions("session", gincookie.NewStore(key)))
		n = counter[*gin.Context]{
			get: func(c *gin.Context) int { v, _ := ginsessions.Default(c).Get("n").(int); return v },
			set: func(c *gin.Context, v int) {
				s := ginsessions.Default(c)
				s.Set("n", v)
				_ = s.Save()
			},
		}
	}
	r.GET("/read", func(c *gin.Context) { c.String(200, itoa(n.get(c))) })
	r.GET("/write", func(c *gin.Context) {
		v := n.get(c) + 1
		n.set(c, v)
		c.String(200, itoa(v))
	})
	return serveHTTP(ln, r)
}
