// Package fibersession puts sessionkit sessions into Fiber (v2, fasthttp).
//
// Middleware loads the request's session lazily (no store call until the
// handler uses it), makes it reachable with Get(c) and with
// core.FromContext(c.UserContext()), and commits it after the handler,
// before Fiber sends the response: Fiber buffers the response, so the store
// write and the Set-Cookie always precede the first byte. A handler's
// returned error goes to the app's ErrorHandler inside the middleware, so
// that its response carries the session's headers too. A session that
// fails (store down, lock timeout) answers with the Manager's error
// response (503 by default) instead of the handler's.
//
// fasthttp reuses its buffers between requests; the adapter copies the token
// out of the request before the session keeps it. The *http.Request that
// Config.ErrorHandler gets for a failed session views those buffers as well:
// it is valid during the call only, so copy (strings.Clone) what the handler
// keeps. A body stream writer (SetBodyStreamWriter) runs on a goroutine
// fasthttp starts at once, racing the rest of the request: a change made
// there is saved only if it comes before the middleware's commit; between
// the commit and the end of the request it is lost (the Manager logs it at
// WARN), and once the request ended it is refused (Err reports
// core.ErrHeadersSent). Finish with the session before setting the stream
// writer.
//
//	m, err := core.New(nil, core.Config{}) // memory store, secure cookie
//	if err != nil { … }
//	defer m.Close()
//	app := fiber.New()
//	app.Use(fibersession.Middleware(m))
//	app.Get("/", func(c *fiber.Ctx) error {
//		s := fibersession.Get(c)
//		n, _ := core.Get[int](s, "visits")
//		s.Set("visits", n+1)
//		return c.SendString(fmt.Sprintf("visit %d", n+1))
//	})
package fibersession
