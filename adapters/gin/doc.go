// Package ginsession puts sessionkit sessions into Gin.
//
// Middleware loads the request's session lazily (no store call until the
// handler uses it), makes it reachable with Get(c) and with
// core.FromContext(c.Request.Context()), and commits it before the first
// byte of the response: the store write and the Set-Cookie happen when the
// handler first writes (c.String, c.JSON, c.Writer.Write, Flush, Hijack),
// even when it writes the body before it is done with the session, and once
// more after the handler for changes made while the body was being written.
// A session that fails (store down, lock timeout) answers with the
// Manager's error response (503 by default) instead of the handler's.
//
// Gin's ResponseWriter always has Flush and Hijack. Over a server writer
// that cannot hijack (HTTP/2), Hijack reports http.ErrNotSupported instead
// of panicking; Flush then sends the headers only.
//
//	m, err := core.New(nil, core.Config{}) // memory store, secure cookie
//	if err != nil { … }
//	defer m.Close()
//	r := gin.New()
//	r.Use(ginsession.Middleware(m))
//	r.GET("/", func(c *gin.Context) {
//		s := ginsession.Get(c)
//		n, _ := core.Get[int](s, "visits")
//		s.Set("visits", n+1)
//		c.String(http.StatusOK, "visit %d", n+1)
//	})
package ginsession
