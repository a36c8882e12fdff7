package core

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
)

// ServeError answers r with the response of a failed session: the
// Config.ErrorHandler's, or by default ErrorStatus(err) with its status text
// and Cache-Control: no-store. It logs err first. Adapters call it instead
// of letting the handler's response out when Commit fails before the
// response headers were sent, or when an eagerly loaded session (Load with
// Config.EagerLoad) reports an error.
func (m *Manager) ServeError(w http.ResponseWriter, r *http.Request, err error) {
	m.logCommit(r, err)
	m.fail(w, r, err)
}

// CommitAfterHeaders commits the changes a handler made after the response
// headers went out: the store is updated, no header can be. Adapters call it
// once the handler returned, when their first Commit ran before the headers
// left. A failure is logged — the response is gone, so a log line is all
// that is left — and returned.
func (m *Manager) CommitAfterHeaders(ctx context.Context, s *Session) error {
	err := m.Commit(ctx, s, nil)
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "sessionkit: session commit after the response headers failed",
			slog.String("session", m.tokens.logID(s.ID())), slog.Any("error", err))
	}
	return err
}

// Guard runs a session's commits around a net/http-style response: the
// first one just before the response headers leave, the last one after the
// handler. net/http's Handler and the Gin and Echo adapters share it; an
// adapter for another net/http-based framework embeds one in its response
// writer and calls Before from every method that sends headers.
type Guard struct {
	m       *Manager
	s       *Session
	r       *http.Request
	started bool // the first commit ran
	failed  bool // the error response replaced the handler's
}

// NewGuard returns the Guard of session s for request r.
func (m *Manager) NewGuard(s *Session, r *http.Request) Guard {
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
	if err := g.m.Commit(g.r.Context(), g.s, w.Header()); err != nil {
		g.failed = true
		g.m.ServeError(w, g.r, err)
		return false
	}
	g.m.warnPlainHTTP(g.s, g.r)
	return true
}

// warnPlainHTTP logs once, at WARN, that a Secure cookie was sent over
// plain HTTP to a host that is not loopback: browsers drop such a cookie
// without a word, so every request looks like a new visitor.
func (m *Manager) warnPlainHTTP(s *Session, r *http.Request) {
	if m.cfg.Cookie.Insecure || m.cfg.Transport == TransportHeader || m.plainHTTPWarned.Load() ||
		r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return
	}
	s.mu.Lock()
	sent := s.tokenSent
	s.mu.Unlock()
	if !sent || isLoopback(r.Host) || m.plainHTTPWarned.Swap(true) {
		return
	}
	m.log.LogAttrs(r.Context(), slog.LevelWarn, "sessionkit: a Secure session cookie was sent over plain HTTP; browsers drop it (serve HTTPS, or set Cookie.Insecure for local development only)",
		slog.String("host", r.Host))
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
		_ = g.m.CommitAfterHeaders(g.r.Context(), g.s)
	}
}

// Failed reports whether the error response replaced the handler's.
func (g *Guard) Failed() bool { return g.failed }
