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
// The session's writer is an http.Flusher or http.Hijacker exactly when
// the server's writer is (HTTP/2 has no Hijack).
//
// What happens to the response of a failed session (store down, lock
// timeout, conflict, data too large), exactly:
//
//   - The commit runs when the first byte is about to leave. If it fails,
//     the Manager's error response (Config.ErrorHandler; by default
//     core.ErrorStatus — 503, 409, 413 or 500 — with its status text) is
//     sent instead, with none of the handler's headers. Whatever the
//     handler writes afterwards is dropped (its writes return an error);
//     Echo's Response is committed and records the error status, for
//     loggers.
//   - A handler's returned error is handed to Echo's HTTPErrorHandler by
//     the middleware itself, so that the error page carries the session's
//     cookie and is written while the session is still locked; if that
//     page's first write makes the commit fail, the session's error
//     response replaces it. When the session has already failed, the
//     handler's error is dropped: the session's error response is the
//     answer. Either way the middleware returns nil, so the HTTPErrorHandler
//     runs at most once per request — a custom one that writes its own
//     JSON without checking whether the response was committed writes its
//     page once — and middleware registered before this one (a
//     RequestLogger) sees nil, not the error: read the status from
//     echo.UnwrapResponse(c.Response()).
//   - With Config.EagerLoad, a store that fails on load gets the error
//     response before the handler runs; the handler does not run.
//   - Changes made after the first byte are committed once the handler
//     returned; that commit failing is logged, as the response is gone.
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
