// Package echov5session puts sessionkit sessions into Echo v5
// (github.com/labstack/echo/v5).
//
// The package is named after the framework and its major version, so that
// an application moving from Echo v4 to v5 can import it beside
// echosession (adapters/echo, Echo v4) with no import alias. The directory
// is a module of its own, adapters/echov5, rather than adapters/echo/v5:
// that path would read as version 5 of the Echo v4 adapter's module.
//
// Middleware loads the request's session lazily (no store call until the
// handler uses it), makes it reachable with Get(c) and with
// core.FromContext(c.Request().Context()), and commits it before the first
// byte of the response: it sets a response writer (Context.SetResponse)
// that runs the store write and adds the Set-Cookie when the handler first
// writes (c.String, c.JSON, Write, WriteHeader, Flush, Hijack), and commits
// once more after the handler for changes made while the body was being
// written. Handlers and middleware that wrap c.Response() further keep
// working; behind the middleware c.Response() is the session's writer, not
// *echo.Response itself, so reach Echo's Response with echo.UnwrapResponse
// (as Echo v5's own middleware do), not a type assertion.
//
// A session that fails (store down, lock timeout) answers with the
// Manager's error response (503 by default) instead of the handler's, none
// of the handler's headers kept; Echo's Response records its status for
// loggers.
//
// A handler's returned error goes to Echo's HTTPErrorHandler inside the
// middleware, so that its response carries the session's headers too. The
// middleware then returns the error, as Echo v5's RequestLogger with
// HandleError does, and Echo calls the error handler again: a custom
// HTTPErrorHandler must skip a response that is already committed, as
// Echo's default one does:
//
//	if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
//		return
//	}
//
// Example:
//
//	m, err := core.New(nil, core.Config{}) // memory store, secure cookie
//	if err != nil { … }
//	defer m.Close()
//	e := echo.New()
//	e.Use(echov5session.Middleware(m))
//	e.GET("/", func(c *echo.Context) error {
//		s := echov5session.Get(c)
//		n, _ := core.Get[int](s, "visits")
//		s.Set("visits", n+1)
//		return c.String(http.StatusOK, fmt.Sprintf("visit %d", n+1))
//	})
package echov5session
