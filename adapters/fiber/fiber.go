package fibersession

import (
	"net/http"
	"unsafe"

	"github.com/gofiber/fiber/v2"
	"github.com/sessionkit/sessionkit/core"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

type ctxKey struct{}

// fasthttp's *ResponseHeader is a core.ResponseHeader as it is: Add keeps
// a Set-Cookie value byte for byte.
var _ core.ResponseHeader = (*fasthttp.ResponseHeader)(nil)

// Middleware returns Fiber middleware that runs m's session lifecycle for
// every request: load, handler, commit before the response is sent, release.
func Middleware(m *core.Manager) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		a := m.Adapter()
		s := a.Load(ctx, requestHeader{&c.Request().Header})
		defer a.Release(s)
		if err := s.Err(); err != nil { // Config.EagerLoad found the store failing
			serveError(a, c, err)
			return nil
		}
		c.Locals(ctxKey{}, s)
		c.SetUserContext(a.NewContext(ctx, s))
		if err := c.Next(); err != nil {
			// Let the error handler write its response now, while the
			// session can still add its headers and the lock is held.
			if err := c.App().ErrorHandler(c, err); err != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		if err := a.Commit(ctx, s, &c.Response().Header); err != nil {
			serveError(a, c, err)
		} else {
			a.WarnPlainHTTP(ctx, s, func() (bool, string) {
				req := &c.Request().Header
				return c.Context().IsTLS() || string(req.Peek("X-Forwarded-Proto")) == "https", view(req.Host())
			})
		}
		return nil
	}
}

// Get returns the session Middleware attached to c. Without the middleware
// it returns nil, which is safe to use and stores nothing: its Err reports
// core.ErrNoSession, and the mistake is logged once at ERROR.
//
// A body stream writer (c.Context().SetBodyStreamWriter) runs on a
// goroutine fasthttp starts at once, racing the middleware's commit: once
// the session's request ended, a session used there stores nothing and
// takes no lock, and its Err reports core.ErrHeadersSent. Read or change
// the session before setting the stream writer.
func Get(c *fiber.Ctx) *core.Session {
	if s, ok := c.Locals(ctxKey{}).(*core.Session); ok {
		return s
	}
	s, _ := core.FromContext(c.UserContext())
	return s
}

// requestHeader lets the Manager read fasthttp's request header. The
// values view fasthttp's buffers, which it reuses after the request:
// core.RequestHeader promises that Load keeps nothing of them, so the
// Cookie header is not copied on every request.
type requestHeader struct{ h *fasthttp.RequestHeader }

func (r requestHeader) Values(key string) []string {
	all := r.h.PeekAll(key)
	if len(all) == 0 {
		return nil
	}
	out := make([]string, len(all))
	for i, v := range all {
		out[i] = view(v)
	}
	return out
}

// view is b as a string without a copy: for core calls that keep nothing
// of what they are given.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// serveError replaces the handler's response with the Manager's error
// response (Config.ErrorHandler or the default), run through net/http types.
func serveError(a core.Adapter, c *fiber.Ctx, err error) {
	var r http.Request
	if cerr := fasthttpadaptor.ConvertRequest(c.Context(), &r, true); cerr != nil {
		r = http.Request{Method: c.Method(), Header: http.Header{}}
	}
	res := c.Response()
	// The error response carries only what the error handler writes: none
	// of the handler's cookies, redirects or other headers.
	res.Header.Reset()
	res.ResetBody()
	w := &errorWriter{res: res, header: http.Header{}}
	a.ServeError(w, r.WithContext(c.UserContext()), err)
	w.WriteHeader(http.StatusOK)
}

// errorWriter writes an http.Handler's response into fasthttp's, each
// header it sets replacing the handler's.
type errorWriter struct {
	res    *fasthttp.Response
	header http.Header
	sent   bool
}

func (w *errorWriter) Header() http.Header { return w.header }

func (w *errorWriter) WriteHeader(code int) {
	if w.sent {
		return
	}
	w.sent = true
	w.res.SetStatusCode(code)
	for k, vv := range w.header {
		w.res.Header.Del(k)
		for _, v := range vv {
			w.res.Header.Add(k, v)
		}
	}
}

func (w *errorWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.res.BodyWriter().Write(b)
}
