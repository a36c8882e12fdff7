// Command gin is the sessionkit demo on Gin: a visit counter kept in
// the session, sign in (the session ID is regenerated; a wrong password is
// an error), the session page (values, created, last written, idle and
// absolute deadlines, remember me), sign out (the session is destroyed, and
// a page confirms it). The pages are examples/internal/demo's.
//
//	cd examples && go run ./gin [-addr 127.0.0.1:8080]
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gin-gonic/gin"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// newRouter maps the demo's pages onto Gin behind the session middleware.
func newRouter(m *core.Manager) *gin.Engine {
	r := gin.New()
	r.Use(gin.Logger(), gin.Recovery(), ginsession.Middleware(m))
	for _, rt := range demo.Routes("Gin") {
		handle := rt.Handle
		r.Handle(rt.Method, rt.Path, func(c *gin.Context) {
			res := handle(ginsession.Get(c), c.PostForm)
			if res.Redirect != "" {
				c.Redirect(http.StatusSeeOther, res.Redirect)
				return
			}
			c.Data(http.StatusOK, res.ContentType, res.Body)
		})
	}
	return r
}

func main() {
	addr := flag.String("addr", demo.DefaultAddr, "listen address")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
	m, err := demo.NewManager()
	if err != nil {
		log.Fatal(err)
	}
	err = demo.ListenAndServe(*addr, newRouter(m))
	m.Close()
	if err != nil {
		log.Fatal(err)
	}
}
