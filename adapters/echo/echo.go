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
func Middleware(m *core.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			s := m.Load(req.Context(), req.Header)
			defer m.Release(s)
			if err := s.Err(); err != nil { // Config.EagerLoad found the store failing
				m.ServeError(c.Response(), req, err)
				return nil
			}
			c.Set(key, s)
			c.SetRequest(req.WithContext(core.NewContext(req.Context(), s)))
			res := c.Response()
			k := &committer{m: m, s: s, c: c}
			k.raw = &guard{ResponseWriter: res.Writer, k: k}
			res.Writer = k.raw
			res.Before(k.before)
			err := next(c)
			if err != nil {
				// Let the error handler write its response now, while the
				// session can still add its headers and the lock is held.
				c.Error(err)
			}
			k.finish()
			return err
		}
	}
}

// Get returns the session Middleware attached to c, or nil when the
// middleware is not installed (a nil *core.Session is safe to use: it holds
// nothing and stores nothing).
func Get(c echo.Context) *core.Session {
	s, _ := c.Get(key).(*core.Session)
	return s
}

// errResponseReplaced is what writes of a handler get once its response
// was replaced by the session's error response.
var errResponseReplaced = errors.New("echosession: response replaced by the session error response")

// committer runs the first commit when the response headers are about to
// leave, and the last one after the handler.
type committer struct {
	m       *core.Manager
	s       *core.Session
	c       echo.Context
	raw     *guard
	started bool // the first commit ran
	failed  bool // the error response replaced the handler's
}

// before is the Response().Before hook. On failure it writes the error
// response itself and sends the handler's header and body to a writer that
// drops them.
func (k *committer) before() {
	if k.started {
		return
	}
	k.started = true
	res := k.c.Response()
	err := k.m.Commit(k.c.Request().Context(), k.s, res.Header())
	if err == nil {
		return
	}
	k.failed = true
	res.Writer = dropWriter{}
	sw := &statusWriter{ResponseWriter: k.raw.ResponseWriter, status: http.StatusOK}
	k.m.ServeError(sw, k.c.Request(), err)
	res.Status, res.Committed = sw.status, true
}

// finish commits after the handler: the first commit if nothing was
// written (net/http then sends these headers with its implicit 200), else
// the changes made after the first byte.
func (k *committer) finish() {
	switch {
	case k.failed:
	case !k.started:
		k.before()
	default:
		_ = k.m.CommitAfterHeaders(k.c.Request().Context(), k.s)
	}
}

// guard commits on the ways to send headers that bypass Echo's
// Response.WriteHeader: Flush and Hijack.
type guard struct {
	http.ResponseWriter
	k *committer
}

func (g *guard) Flush() {
	if res := g.k.c.Response(); !res.Committed {
		res.WriteHeader(res.Status) // runs the Before hooks
	}
	if g.k.failed {
		return
	}
	_ = http.NewResponseController(g.ResponseWriter).Flush()
}

func (g *guard) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if g.k.before(); g.k.failed {
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
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
