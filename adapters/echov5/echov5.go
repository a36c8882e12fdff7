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
			st := new(requestState) // one allocation for the request's writers
			w := &st.w
			*w = sessionWriter{ResponseWriter: res, g: a.Guard(s, req)}
			c.SetResponse(w.wrap(&st.full))
			defer c.SetResponse(res)
			if err := next(c); err != nil && !w.g.Failed() {
				// The error handler writes its page now, while the session
				// can still add its headers and the lock is held. The error
				// is handled here, so it is not returned: Echo would run
				// the error handler a second time, and one that does not
				// check whether the response was committed would write its
				// page twice. Once the session failed, its error response
				// is the answer and the handler's error is dropped.
				c.Echo().HTTPErrorHandler(c, err)
			}
			w.g.Finish(res)
			return nil
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

// requestState is what Middleware keeps for one request, in one
// allocation: the session writer and, over a writer with both Flush and
// Hijack, its wrapper.
type requestState struct {
	w    sessionWriter
	full fullWriter
}

// fullWriter is a sessionWriter over a writer that is an http.Flusher and
// an http.Hijacker.
type fullWriter struct{ *sessionWriter }

func (f *fullWriter) Flush() { flushW{f.sessionWriter}.Flush() }

func (f *fullWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return hijackW{f.sessionWriter}.Hijack()
}

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

// wrap returns w with exactly the http.Flusher and http.Hijacker of the
// writer under it (what Echo's Response reaches through
// http.ResponseController): a handler that tests for one gets the truth.
func (w *sessionWriter) wrap(full *fullWriter) http.ResponseWriter {
	f := supports(w.ResponseWriter, func(rw http.ResponseWriter) bool { _, ok := rw.(http.Flusher); return ok })
	h := supports(w.ResponseWriter, func(rw http.ResponseWriter) bool { _, ok := rw.(http.Hijacker); return ok })
	switch {
	case f && h:
		*full = fullWriter{w}
		return full
	case f:
		return struct {
			*sessionWriter
			flushW
		}{w, flushW{w}}
	case h:
		return struct {
			*sessionWriter
			hijackW
		}{w, hijackW{w}}
	}
	return w
}

// supports reports whether w, or a writer it wraps, has the method has
// tests for. Echo's Response always has Flush and Hijack, which fail (or
// panic) when the server's writer lacks them, so the question goes to the
// writer under it.
func supports(w http.ResponseWriter, has func(http.ResponseWriter) bool) bool {
	for range 16 {
		if _, isEcho := w.(*echo.Response); !isEcho && has(w) {
			return true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
	return false
}

type flushW struct{ w *sessionWriter }

// Flush implements http.Flusher; the session is committed first.
func (f flushW) Flush() { f.w.flush() }

type hijackW struct{ w *sessionWriter }

// Hijack implements http.Hijacker; the session is committed first.
func (h hijackW) Hijack() (net.Conn, *bufio.ReadWriter, error) { return h.w.hijack() }

// flush sends a 200 when nothing was written yet, as net/http does,
// through Echo's Response so that it counts as committed.
func (w *sessionWriter) flush() {
	if !w.sent {
		w.WriteHeader(http.StatusOK)
	}
	if w.g.Failed() {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *sessionWriter) hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.before() {
		return nil, nil, errResponseReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets echo.UnwrapResponse and http.ResponseController reach the
// writer below.
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
