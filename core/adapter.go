package core

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
)

// Adapter holds the primitives a framework adapter is built from; get one
// with Manager.Adapter. Handler (net/http) and the Gin, Echo and Fiber
// adapters are made of them, and so can an adapter for any other framework.
//
// One request, in this order:
//
//  1. s := a.Load(ctx, header): verifies the token, never fails and never
//     calls the store (unless Config.EagerLoad). With EagerLoad, when
//     s.Err() != nil, answer with a.ServeError and stop: the handler must
//     not run with an empty session.
//  2. defer a.Release(s): unlocks the session (Config.Locking) and ends it;
//     every request that called Load must call it, even after a panic.
//  3. ctx = a.NewContext(ctx, s): put the session where FromContext and
//     Manager.FromContext find it (and into the framework's own context).
//  4. Commit before the response headers leave. net/http-style writers:
//     g := a.Guard(s, r); call g.Before(w) from every method that sends
//     headers (WriteHeader, Write, Flush, Hijack, ReadFrom) and drop the
//     handler's output once it returned false; after the handler returns,
//     call g.Finish(w). Give your writer Flush, Hijack or ReadFrom only when
//     the writer under it has them: handlers test for them. Frameworks that send the response after the handler
//     (Fiber): a.Commit(ctx, s, responseHeader) once, and on error replace
//     the handler's response with a.ServeError's; on success call
//     a.WarnPlainHTTP.
//
// What this guarantees: the token headers (Set-Cookie, Cache-Control:
// no-store, Vary: Cookie) and the store write happen before the client sees
// a byte; a failed session (store down, lock timeout, conflict, too large)
// gets the ErrorHandler's response instead of the handler's, with the
// handler's headers dropped; changes made after the headers left are still
// stored. An adapter passes when adapters/adaptertest.Run, the shared
// HTTP-level suite every adapter in this repository runs, passes through a
// real listener.
type Adapter struct{ m *Manager }

// Adapter returns m's adapter primitives.
func (m *Manager) Adapter() Adapter { return Adapter{m} }

// Load starts the session of a request from its headers: the token is
// verified and its ID checked here, but nothing is read from the store
// until the session is used (or at once with Config.EagerLoad). A missing,
// tampered, expired, oversized, wrongly signed or duplicated token gives a
// new, empty session; it is never an error.
func (a Adapter) Load(ctx context.Context, h RequestHeader) *Session {
	return a.m.loadRequest(ctx, h)
}

// Release ends the session's request: it unlocks the session if it holds
// its store lock, and from then on the session takes no lock and stores
// nothing (its Err reports a use after the request ended). Call it after
// the last commit.
func (a Adapter) Release(s *Session) { a.m.endRequest(s) }

// NewContext returns a copy of ctx carrying s, for FromContext and
// Manager.FromContext. A session of another Manager already in ctx stays
// reachable through its own Manager.
func (a Adapter) NewContext(ctx context.Context, s *Session) context.Context {
	return newContext(ctx, s)
}

// Commit saves the session's changes and writes the token headers to h. Pass
// h == nil once the response headers are gone: the store is still updated,
// but a change that needs a new token is refused with ErrHeadersSent. Commit
// may be called more than once; each call saves what changed since the
// last. A commit either applies every change of the request or returns an
// error (ErrStore, ErrLockTimeout, ErrLockLost, ErrTooLarge, ErrConflict,
// …) and applies none that the error concerns; the session keeps
// reporting that error.
func (a Adapter) Commit(ctx context.Context, s *Session, h ResponseHeader) error {
	return a.m.save(ctx, s, h)
}

// ServeError answers r with the response of a failed session: the
// Config.ErrorHandler's, or by default ErrorStatus(err) with its status
// text and Cache-Control: no-store. The headers already set on w are
// dropped first, and err is logged.
func (a Adapter) ServeError(w http.ResponseWriter, r *http.Request, err error) {
	a.m.serveError(w, r, err)
}

// Guard returns the Guard of session s for request r.
func (a Adapter) Guard(s *Session, r *http.Request) Guard { return a.m.newGuard(s, r) }

// serveError logs err and answers r with the failed session's response.
func (m *Manager) serveError(w http.ResponseWriter, r *http.Request, err error) {
	m.logCommit(r, err)
	m.fail(w, r, err)
}

// commitAfterHeaders commits the changes a handler made after the
// response headers went out: the store is updated, no header can be. A
// failure is logged — the response is gone, so a log line is all that is
// left — and returned.
func (m *Manager) commitAfterHeaders(ctx context.Context, s *Session) error {
	err := m.save(ctx, s, nil)
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "sessionkit: session commit after the response headers failed",
			slog.String("session", m.tokens.logID(s.ID())), slog.Any("error", err))
	}
	return err
}

// Guard runs a session's commits around a net/http-style response: the
// first one just before the response headers leave, the last one after the
// handler (see Adapter). net/http's Handler and the Gin and Echo adapters
// share it.
type Guard struct {
	m       *Manager
	s       *Session
	r       *http.Request
	started bool // the first commit ran
	failed  bool // the error response replaced the handler's
}

func (m *Manager) newGuard(s *Session, r *http.Request) Guard {
	return Guard{m: m, s: s, r: r}
}

// Before runs the first commit into w's headers. When it fails it sends the
// error response to w instead and reports false: the handler's response
// must then be dropped. Later calls report the first call's verdict.
func (g *Guard) Before(w http.ResponseWriter) bool {
	if g.failed {
		return false
	}
	if g.started {
		return true
	}
	g.started = true
	if err := g.m.save(g.r.Context(), g.s, w.Header()); err != nil {
		g.failed = true
		g.m.serveError(w, g.r, err)
		return false
	}
	g.m.warnPlainHTTP(g.s, g.r)
	return true
}

// warnPlainHTTP logs once, at WARN, that a Secure cookie was sent over
// plain HTTP to a host that is not loopback: browsers drop such a cookie
// without a word, so every request looks like a new visitor.
func (m *Manager) warnPlainHTTP(s *Session, r *http.Request) {
	if m.plainHTTPQuiet() || r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return
	}
	m.warnInsecureCookie(r.Context(), s, r.Host)
}

// plainHTTPQuiet reports whether warnPlainHTTP has nothing to say: the
// cookie is not Secure, there is no cookie, or it warned already.
func (m *Manager) plainHTTPQuiet() bool {
	return m.cfg.Cookie.Insecure || m.cfg.Transport == TransportHeader || m.plainHTTPWarned.Load()
}

// warnInsecureCookie logs the warning, once, if s just sent its cookie to
// host over plain HTTP and host is not loopback.
func (m *Manager) warnInsecureCookie(ctx context.Context, s *Session, host string) {
	s.mu.Lock()
	sent := s.tokenSent
	s.mu.Unlock()
	if !sent || isLoopback(host) || m.plainHTTPWarned.Swap(true) {
		return
	}
	m.log.LogAttrs(ctx, slog.LevelWarn, "sessionkit: a Secure session cookie was sent over plain HTTP; browsers drop it (serve HTTPS, or set Cookie.Insecure for local development only)",
		slog.String("host", strings.Clone(host))) // host may view a reused buffer
}

// WarnPlainHTTP is, for adapters that commit with Commit rather than
// through a Guard (which does it itself), the check that follows a
// successful commit: if the commit just sent a Secure cookie over plain
// HTTP to a host that is not loopback, it logs once per Manager, at WARN,
// that browsers drop such a cookie, so that every request of the app looks
// like a new visitor. transport reports whether the request came over TLS
// or through a proxy that says so (X-Forwarded-Proto: https) and the
// request's Host (with or without a port; it may view a buffer the
// framework reuses: nothing of it is kept). It is called only when a
// warning may be due, so other requests pay nothing for it.
func (a Adapter) WarnPlainHTTP(ctx context.Context, s *Session, transport func() (secure bool, host string)) {
	if s == nil || a.m.plainHTTPQuiet() {
		return
	}
	s.mu.Lock()
	sent := s.tokenSent
	s.mu.Unlock()
	if !sent {
		return
	}
	if secure, host := transport(); !secure {
		a.m.warnInsecureCookie(ctx, s, host)
	}
}

// isLoopback reports whether host (with or without a port) is localhost
// or a loopback address, where browsers accept Secure cookies over HTTP.
func isLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Finish commits after the handler returned: the first commit when nothing
// was written yet (the framework sends the headers set here with its
// implicit 200), else the changes made after the first byte.
func (g *Guard) Finish(w http.ResponseWriter) {
	switch {
	case g.failed:
	case !g.started:
		g.Before(w)
	default:
		_ = g.m.commitAfterHeaders(g.r.Context(), g.s)
	}
}

// Failed reports whether the error response replaced the handler's.
func (g *Guard) Failed() bool { return g.failed }
