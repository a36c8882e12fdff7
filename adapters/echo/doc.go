// Package echosession puts sessionkit sessions into Echo (v4).
//
// Middleware loads the request's session lazily (no store call until the
// handler uses it), makes it reachable with Get(c) and with
// core.FromContext(c.Request().Context()), and commits it before the first
// byte of the response, in a Response().Before hook: the store write and the
// Set-Cookie happen when the handler first writes (c.String, c.JSON,
// c.Response().Write, Flush, Hijack), and once more after the handler for
// changes made while the body was being written. A session that fails
// (store down, lock timeout) answers with the Manager's error response (503
// by default) instead of the handler's. A handler's returned error goes to
// Echo's HTTPErrorHandler inside the middleware, so that its response
// carries the session's headers too; the middleware then returns the error,
// as Echo's Logger middleware does, and Echo calls the handler again, so a
// custom HTTPErrorHandler must skip a response that is already committed
// (Echo's default one does).
//
//	m, err := core.New(nil, core.Config{}) // memory store, secure cookie
//	if err != nil { … }
//	defer m.Close()
//	e := echo.New()
//	e.Use(echosession.Middleware(m))
//	e.GET("/", func(c echo.Context) error {
//		s := echosession.Get(c)
//		n, _ := core.Get[int](s, "visits")
//		s.Set("visits", n+1)
//		return c.String(http.StatusOK, fmt.Sprintf("visit %d", n+1))
//	})
package echosession
