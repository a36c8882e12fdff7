// Package fiberv3session puts sessionkit sessions into Fiber v3
// (github.com/gofiber/fiber/v3, fasthttp).
//
// The package is named after the framework and its major version, so that
// an application moving from Fiber v2 to v3 route by route can import it
// beside fibersession (adapters/fiber, Fiber v2) and beside Fiber v3's own
// middleware/session package, with no import alias. The directory is a
// module of its own, adapters/fiberv3, rather than adapters/fiber/v3: that
// path would read as version 3 of the Fiber v2 adapter's module.
//
// Middleware loads the request's session lazily (no store call until the
// handler uses it), makes it reachable with Get(c) and with
// core.FromContext(c.Context()), and commits it after the handler, before
// Fiber sends the response: Fiber buffers the response, so the store write
// and the Set-Cookie always precede the first byte. A handler's returned
// error goes to the app's ErrorHandler inside the middleware, so that its
// response carries the session's headers too. A session that fails (store
// down, lock timeout) answers with the Manager's error response (503 by
// default) instead of the handler's, none of the handler's headers kept.
//
// Fiber v3's Ctx is itself a context.Context, but its Value reads Fiber's
// Locals, where core's context key is not: pass c.Context() — the request
// context that Middleware extends with core.NewContext — to code that
// looks the session up with core.FromContext, not c.
//
// fasthttp reuses its buffers between requests; the adapter copies the token
// out of the request before the session keeps it. The *http.Request that
// Config.ErrorHandler gets for a failed session views those buffers as well:
// it is valid during the call only, so copy (strings.Clone) what the handler
// keeps. A body stream writer (SendStreamWriter) runs on a goroutine
// fasthttp starts at once, racing the rest of the request: a change made
// there is saved only if it comes before the middleware's commit; between
// the commit and the session's release it is lost (the Manager logs it at
// WARN), and once the session was released it is refused and shows in the
// session's Err (core.ErrHeadersSent). Finish with the session before
// sending the stream.
//
//	m, err := core.New(nil, core.Config{}) // memory store, secure cookie
//	if err != nil { … }
//	defer m.Close()
//	app := fiber.New()
//	app.Use(fiberv3session.Middleware(m))
//	app.Get("/", func(c fiber.Ctx) error {
//		s := fiberv3session.Get(c)
//		n, _ := core.Get[int](s, "visits")
//		s.Set("visits", n+1)
//		return c.SendString(fmt.Sprintf("visit %d", n+1))
//	})
package fiberv3session
