package ginsession

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/core"
)

// key is where the session sits in the gin.Context (a string: Gin before
// v1.11 takes only string keys).
const key = "github.com/sessionkit/sessionkit/adapters/gin"

// Middleware returns Gin middleware that runs m's session lifecycle for
// every request: load, handler, commit before the first byte, release.
func Middleware(m *core.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		a := m.Adapter()
		s := a.Load(c.Request.Context(), c.Request.Header)
		defer a.Release(s)
		if err := s.Err(); err != nil { // Config.EagerLoad found the store failing
			a.ServeError(c.Writer, c.Request, err)
			c.Abort()
			return
		}
		c.Set(key, s)
		c.Request = c.Request.WithContext(a.NewContext(c.Request.Context(), s))
		w := &writer{ResponseWriter: c.Writer, c: c, g: a.Guard(s, c.Request)}
		c.Writer = w
		c.Next()
		w.g.Finish(w.ResponseWriter)
	}
}

// Get returns the session Middleware attached to c. Without the middleware
// it returns nil, which is safe to use and stores nothing: its Err reports
// core.ErrNoSession, and the mistake is logged once at ERROR.
func Get(c *gin.Context) *core.Session {
	if v, ok := c.Get(key); ok {
		if s, ok := v.(*core.Session); ok {
			return s
		}
	}
	s, _ := core.FromContext(c.Request.Context())
	return s
}

// errResponseReplaced is what writes of a handler get once its response
// was replaced by the session's error response.
var errResponseReplaced = errors.New("ginsession: response replaced by the session error response")

// writer commits the session when the response headers are about to leave.
// Gin's own WriteHeader only records the status, so it does not commit.
type writer struct {
	gin.ResponseWriter
	c *gin.Context
	g core.Guard
}

// before runs the first commit; it reports whether the handler's response
// may go on.
func (w *writer) before() bool {
	if w.g.Before(w.ResponseWriter) {
		return true
	}
	w.c.Abort()
	return false
}

func (w *writer) WriteHeaderNow() {
	if w.before() {
		w.ResponseWriter.WriteHeaderNow()
	}
}

func (w *writer) Write(b []byte) (int, error) {
	if !w.before() {
		return 0, errResponseReplaced
	}
	return w.ResponseWriter.Write(b)
}

func (w *writer) WriteString(s string) (int, error) {
	if !w.before() {
		return 0, errResponseReplaced
	}
	return w.ResponseWriter.WriteString(s)
}

// Flush implements http.Flusher; the session is committed first.
func (w *writer) Flush() {
	if w.before() {
		w.ResponseWriter.Flush()
	}
}

// Hijack implements http.Hijacker; the session is committed first. Gin's
// ResponseWriter always has Hijack (and Flush), whatever the server's
// writer can do; where the server's writer cannot hijack (HTTP/2), Hijack
// reports http.ErrNotSupported, as http.ResponseController does, instead
// of panicking in Gin's writer. Flush then only sends the headers.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !canHijack(w.ResponseWriter) {
		return nil, nil, fmt.Errorf("ginsession: the server's response writer cannot hijack: %w", http.ErrNotSupported)
	}
	if !w.before() {
		return nil, nil, errResponseReplaced
	}
	return w.ResponseWriter.Hijack()
}

// canHijack reports whether the writer under Gin's can hijack.
func canHijack(w gin.ResponseWriter) bool {
	u, ok := w.(interface{ Unwrap() http.ResponseWriter })
	if !ok {
		return true // not Gin's own writer: take its word
	}
	_, ok = u.Unwrap().(http.Hijacker)
	return ok
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
