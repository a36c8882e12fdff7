package echov5session

import (
	"bufio"
	"errors"
	"net"
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/sessionkit/sessionkit/core"
)

// key is where the session sits in the echo.Context.
const key = "github.com/sessionkit/sessionkit/adapters/echov5"

// Middleware returns Echo v5 middleware that runs m's session lifecycle for
// every request: load, handler, commit before the first byte, release.
func Middleware(m *core.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			req := c.Request()
			a := m.Adapter()
			s := a.Load(req.Context(), req.Header)
			defer a.Release(s)
			if err := s.Err(); err != nil { // Config.EagerLoad found the store failing
				a.ServeError(c.Response(), req, err)
				return nil
			}
			c.Set(key, s)
			req = req.WithContext(a.NewContext(req.Context(), s))
			c.SetRequest(req)
			res := c.Response()
			w := &sessionWriter{ResponseWriter: res, g: a.Guard(s, req)}
			c.SetResponse(w)
			defer c.SetResponse(res)
			err := next(c)
			if err != nil {
				// Let the error handler write its response now, while the
				// session can still add its headers and the lock is held.
				c.Echo().HTTPErrorHandler(c, err)
			}
			w.g.Finish(res)
			return err
		}
	}
}

// Get returns the session Middleware attached to c. Without the middleware
// it returns nil, which is safe to use and stores nothing: its Err reports
// core.ErrNoSession, and the mistake is logged once at ERROR.
func Get(c *echo.Context) *core.Session {
	if s, ok := c.Get(key).(*core.Session); ok {
		return s
	}
	s, _ := core.FromContext(c.Request().Context())
	return s
}

// errResponseReplaced is what writes of a handler get once its response
// was replaced by the session's error response.
var errResponseReplaced = errors.New("echov5session: response replaced by the session error response")

// sessionWriter commits the session before the response's first byte. On
// failure the error response goes to the writer below it (Echo's Response,
// which records the status) and the handler's output is dropped.
type sessionWriter struct {
	http.ResponseWriter
	g    core.Guard
	sent bool // the status line went out through this writer
}

func (w *sessionWriter) before() bool { return w.g.Before(w.ResponseWriter) }

func (w *sessionWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: headers not final yet
		return
	}
	if w.before() {
		w.sent = true
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *sessionWriter) Write(b []byte) (int, error) {
	if !w.before() {
		return 0, errResponseReplaced
	}
	w.sent = true
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher. A flush before any write sends a 200, as
// net/http does, through Echo's Response so that it counts as committed.
func (w *sessionWriter) Flush() {
	if !w.sent {
		w.WriteHeader(http.StatusOK)
	}
	if w.g.Failed() {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker; the session is committed first.
func (w *sessionWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.before() {
		return nil, nil, errResponseReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets echo.UnwrapResponse and http.ResponseController reach the
// writer below.
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
