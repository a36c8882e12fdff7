package core

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
)

// Handler is the net/http middleware: it attaches the request's Session to
// the request context (FromContext), runs next, and commits the session
// before the first byte of the response — the token headers and the store
// write happen on the first WriteHeader, Write or Flush — and once more
// after next returns, for changes made while the body was being written.
//
// A session that failed (store down, lock timeout, data too large) turns
// into the ErrorHandler's response (503 by default) instead of next's; with
// Config.EagerLoad a failing load stops the request before next runs.
// Flusher, Hijacker, io.ReaderFrom and http.ResponseController keep working.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs := new(requestState)
		s := &rs.s
		ctx := r.Context()
		m.start(ctx, s, r.Header)
		defer m.endRequest(s)
		if m.cfg.EagerLoad && s.Err() != nil {
			m.fail(w, r, s.Err())
			return
		}
		rs.sw = sessionWriter{ResponseWriter: w, g: m.newGuard(s, r)}
		next.ServeHTTP(rs.writer(), r.WithContext(newContext(ctx, s)))
		rs.sw.g.Finish(w)
	})
}

// requestState is what Handler keeps for one request, in one allocation
// instead of three: the session (which holds the context that carries it)
// and its response writer in the shape the handler sees.
type requestState struct {
	s    Session
	sw   sessionWriter
	full fullWriter
}

// writer returns rs.sw with the optional interfaces of the writer under
// it; net/http's HTTP/1 writer, which has all three, needs no allocation.
func (rs *requestState) writer() http.ResponseWriter {
	w := &rs.sw
	_, f := w.ResponseWriter.(http.Flusher)
	_, h := w.ResponseWriter.(http.Hijacker)
	_, r := w.ResponseWriter.(io.ReaderFrom)
	if f && h && r {
		rs.full = fullWriter{w}
		return &rs.full
	}
	return w.wrap()
}

// fullWriter is a sessionWriter over a writer that is an http.Flusher, an
// http.Hijacker and an io.ReaderFrom (one pointer, where embedding flushW,
// hijackW and readFromW would take four).
type fullWriter struct{ *sessionWriter }

func (f *fullWriter) Flush() { flushW{f.sessionWriter}.Flush() }

func (f *fullWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return hijackW{f.sessionWriter}.Hijack()
}

func (f *fullWriter) ReadFrom(r io.Reader) (int64, error) {
	return readFromW{f.sessionWriter}.ReadFrom(r)
}

// ErrorStatus is the HTTP status the default error handler gives err: 503
// for store and lock failures, 409 for a conflicting concurrent update, 413
// for oversized data, 500 for the rest. Adapters use it too.
func ErrorStatus(err error) int {
	switch {
	case errors.Is(err, ErrStore), errors.Is(err, ErrLockTimeout), errors.Is(err, ErrLockLost):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// fail answers r with the error handler. Whatever headers the handler had
// set (its own cookies, a Location, …) are dropped first: the response of a
// failed session carries only what the error handler writes.
func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	clear(w.Header())
	if m.cfg.ErrorHandler != nil {
		m.cfg.ErrorHandler(w, r, err)
		return
	}
	status := ErrorStatus(err)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(status), status)
}

// sessionWriter commits the session before the response's first byte.
type sessionWriter struct {
	http.ResponseWriter
	g Guard
}

// errResponseReplaced is what writes of a handler get once its response was
// replaced by the error handler's.
var errResponseReplaced = errors.New("core: response replaced by the session error handler")

func (w *sessionWriter) before() bool { return w.g.Before(w.ResponseWriter) }

func (w *sessionWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: headers not final yet
		return
	}
	if w.before() {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *sessionWriter) Write(b []byte) (int, error) {
	if !w.before() {
		return 0, errResponseReplaced
	}
	return w.ResponseWriter.Write(b)
}

// wrap returns w with exactly the optional interfaces (http.Flusher,
// http.Hijacker, io.ReaderFrom) of the writer under it, each committing the
// session first: a handler that tests for one gets the truth.
func (w *sessionWriter) wrap() http.ResponseWriter {
	_, f := w.ResponseWriter.(http.Flusher)
	_, h := w.ResponseWriter.(http.Hijacker)
	_, r := w.ResponseWriter.(io.ReaderFrom)
	fl, hj, rf := flushW{w}, hijackW{w}, readFromW{w}
	switch {
	case f && h && r:
		return struct {
			*sessionWriter
			flushW
			hijackW
			readFromW
		}{w, fl, hj, rf}
	case f && h:
		return struct {
			*sessionWriter
			flushW
			hijackW
		}{w, fl, hj}
	case f && r:
		return struct {
			*sessionWriter
			flushW
			readFromW
		}{w, fl, rf}
	case h && r:
		return struct {
			*sessionWriter
			hijackW
			readFromW
		}{w, hj, rf}
	case f:
		return struct {
			*sessionWriter
			flushW
		}{w, fl}
	case h:
		return struct {
			*sessionWriter
			hijackW
		}{w, hj}
	case r:
		return struct {
			*sessionWriter
			readFromW
		}{w, rf}
	}
	return w
}

type flushW struct{ w *sessionWriter }

// Flush implements http.Flusher; the session is committed first.
func (f flushW) Flush() {
	if f.w.before() {
		f.w.ResponseWriter.(http.Flusher).Flush()
	}
}

type hijackW struct{ w *sessionWriter }

// Hijack implements http.Hijacker; the session is committed first.
func (h hijackW) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !h.w.before() {
		return nil, nil, errResponseReplaced
	}
	return h.w.ResponseWriter.(http.Hijacker).Hijack()
}

type readFromW struct{ w *sessionWriter }

// ReadFrom keeps sendfile and friends available; the session is committed
// first.
func (r readFromW) ReadFrom(src io.Reader) (int64, error) {
	if !r.w.before() {
		return 0, errResponseReplaced
	}
	return r.w.ResponseWriter.(io.ReaderFrom).ReadFrom(src)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *Manager) logCommit(r *http.Request, err error) {
	m.log.LogAttrs(r.Context(), slog.LevelError, "sessionkit: session commit failed",
		slog.String("path", strings.Clone(r.URL.Path)), slog.Any("error", err)) // r may view a buffer the framework reuses (Fiber)
}
