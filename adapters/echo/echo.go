package echosession

import (
	"bufio"
	"errors"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/sessionkit/sessionkit/core"
)

// key is where the session sits in the echo.Context.
const key = "github.com/sessionkit/sessionkit/adapters/echo"

// Middleware returns Echo middleware that runs m's session lifecycle for
// every request: load, handler, commit before the first byte, release.
//
// An error the handler returns is passed to Echo's HTTPErrorHandler by the
// middleware itself, so the error page carries the session's cookie and is
// written while the session is still locked, and the middleware then
// returns nil: middleware registered before it sees the response Echo
// wrote (c.Response().Status), not the error. When the session fails (store
// down, conflict, too large), its error response (Config.ErrorHandler, 503
// by default) replaces the handler's or the error handler's page.
func Middleware(m *core.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			a := m.Adapter()
			s := a.Load(req.Context(), req.Header)
			defer a.Release(s)
			if err := s.Err(); err != nil { // Config.EagerLoad found the store failing
				a.ServeError(c.Response(), req, err)
				return nil
			}
			c.Set(key, s)
			c.SetRequest(req.WithContext(a.NewContext(req.Context(), s)))
			res := c.Response()
			st := new(requestState) // one allocation for the request's writers
			k := &st.k
			k.c, k.g, k.raw = c, a.Guard(s, c.Request()), &st.g
			st.g = guard{ResponseWriter: res.Writer, k: k}
			k.sw = statusWriter{ResponseWriter: res.Writer, res: res}
			res.Writer = st.wrap()
			res.Before(k.before)
			if err := next(c); err != nil && !k.g.Failed() {
				// The error handler writes its page now, while the session
				// can still add its headers and the lock is held. The error
				// is handled here, so it is not returned: Echo would run
				// the error handler a second time, and one that does not
				// check Response().Committed would write its page twice.
				// Once the session failed, its error response is the
				// answer and the handler's error is dropped.
				c.Error(err)
			}
			k.g.Finish(k.errorWriter())
			return nil
		}
	}
}

// Get returns the session Middleware attached to c. Without the middleware
// it returns nil, which is safe to use and stores nothing: its Err reports
// core.ErrNoSession, and the mistake is logged once at ERROR.
func Get(c echo.Context) *core.Session {
	if s, ok := c.Get(key).(*core.Session); ok {
		return s
	}
	s, _ := core.FromContext(c.Request().Context())
	return s
}

// errResponseReplaced is what writes of a handler get once its response
// was replaced by the session's error response.
var errResponseReplaced = errors.New("echosession: response replaced by the session error response")

// requestState is what Middleware keeps for one request, in one
// allocation: the committer, the guard over Echo's writer and, for a
// writer with both Flush and Hijack (net/http's), its wrapper.
type requestState struct {
	k    committer
	g    guard
	full fullGuard
}

// wrap is g.wrap without an allocation for net/http's writer.
func (st *requestState) wrap() http.ResponseWriter {
	_, f := st.g.ResponseWriter.(http.Flusher)
	_, h := st.g.ResponseWriter.(http.Hijacker)
	if f && h {
		st.full = fullGuard{&st.g}
		return &st.full
	}
	return st.g.wrap()
}

// fullGuard is a guard over a writer that is an http.Flusher and an
// http.Hijacker.
type fullGuard struct{ *guard }

func (f *fullGuard) Flush() { f.flush() }

func (f *fullGuard) Hijack() (net.Conn, *bufio.ReadWriter, error) { return f.hijack() }

// committer runs the first commit when the response headers are about to
// leave, and the last one after the handler.
type committer struct {
	c   echo.Context
	raw *guard
	g   core.Guard
	sw  statusWriter // errorWriter's
}

// before is the Response().Before hook. On failure the error response has
// gone out through errorWriter; the handler's header and body are sent to
// a writer that drops them.
func (k *committer) before() {
	if k.g.Before(k.errorWriter()) || !k.g.Failed() {
		return
	}
	res := k.c.Response()
	if _, dropped := res.Writer.(dropWriter); !dropped {
		res.Writer = dropWriter{}
		res.Committed = true
	}
}

// errorWriter writes straight to the connection's writer and records the
// status of an error response in Echo's Response.Status (loggers read it).
func (k *committer) errorWriter() http.ResponseWriter { return &k.sw }

// guard commits on the ways to send headers that bypass Echo's
// Response.WriteHeader: Flush and Hijack.
type guard struct {
	http.ResponseWriter
	k *committer
}

// wrap returns g with exactly the http.Flusher and http.Hijacker of the
// writer under it: a handler (or Echo's Response) that tests for one gets
// the truth.
func (g *guard) wrap() http.ResponseWriter {
	_, f := g.ResponseWriter.(http.Flusher)
	_, h := g.ResponseWriter.(http.Hijacker)
	switch {
	case f && h:
		return &fullGuard{g}
	case f:
		return struct {
			*guard
			flushGuard
		}{g, flushGuard{g}}
	case h:
		return struct {
			*guard
			hijackGuard
		}{g, hijackGuard{g}}
	}
	return g
}

type flushGuard struct{ g *guard }

// Flush implements http.Flusher; the session is committed first.
func (f flushGuard) Flush() { f.g.flush() }

type hijackGuard struct{ g *guard }

// Hijack implements http.Hijacker; the session is committed first.
func (h hijackGuard) Hijack() (net.Conn, *bufio.ReadWriter, error) { return h.g.hijack() }

func (g *guard) flush() {
	if res := g.k.c.Response(); !res.Committed {
		res.WriteHeader(res.Status) // runs the Before hooks
	}
	if g.k.g.Failed() {
		return
	}
	_ = http.NewResponseController(g.ResponseWriter).Flush()
}

func (g *guard) hijack() (net.Conn, *bufio.ReadWriter, error) {
	if g.k.before(); g.k.g.Failed() {
		return nil, nil, errResponseReplaced
	}
	return http.NewResponseController(g.ResponseWriter).Hijack()
}

func (g *guard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// dropWriter takes the place of the response writer once the error
// response was sent: the handler's output goes nowhere.
type dropWriter struct{}

func (dropWriter) Header() http.Header         { return http.Header{} }
func (dropWriter) Write(b []byte) (int, error) { return 0, errResponseReplaced }
func (dropWriter) WriteHeader(int)             {}
func (dropWriter) Flush()                      {}

// statusWriter remembers the status the error response was sent with, for
// Echo's Response.Status (loggers read it).
type statusWriter struct {
	http.ResponseWriter
	res *echo.Response
}

func (w *statusWriter) WriteHeader(code int) {
	w.res.Status = code
	w.ResponseWriter.WriteHeader(code)
}
