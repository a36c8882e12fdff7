package core

import (
	"context"
	"log/slog"
	"sync/atomic"
)

type ctxKey struct{}

// newContext returns a copy of ctx carrying s (Adapter.NewContext). A
// session of another Manager already in ctx stays reachable through its own
// Manager, so two Managers nested in one application never shadow each other.
func newContext(ctx context.Context, s *Session) context.Context {
	if s != nil {
		if outer, ok := ctx.Value(ctxKey{}).(*Session); ok && outer != s {
			s.outer = outer
		}
	}
	if s != nil && s.ctxv.s == nil {
		// The first context of a request lives in its Session: no
		// allocation on every request. Later ones are ordinary.
		s.ctxv = sessionContext{Context: ctx, s: s}
		return &s.ctxv
	}
	return context.WithValue(ctx, ctxKey{}, s)
}

// sessionContext is context.WithValue(ctx, ctxKey{}, s), held in s.
type sessionContext struct {
	context.Context
	s *Session
}

func (c *sessionContext) Value(key any) any {
	if key == (ctxKey{}) {
		return c.s
	}
	return c.Context.Value(key)
}

// FromContext returns the session the innermost middleware attached to
// ctx. Without one (the handler is not behind a sessionkit middleware) it
// returns ErrNoSession and logs that mistake once per process at ERROR:
// writes to a session that is not there would otherwise vanish unseen.
// With several Managers in one application use Manager.FromContext.
func FromContext(ctx context.Context) (*Session, error) {
	if ctx != nil {
		if s, ok := ctx.Value(ctxKey{}).(*Session); ok && s != nil {
			return s, nil
		}
	}
	if !noSessionLogged.Swap(true) {
		slog.Default().Error("sessionkit: no session in the request context: is the handler behind the session middleware?")
	}
	return nil, ErrNoSession
}

var noSessionLogged atomic.Bool

// FromContext returns the session m's middleware attached to ctx, or
// ErrNoSession when m's middleware is not on the request's path (logged
// once per Manager at ERROR).
func (m *Manager) FromContext(ctx context.Context) (*Session, error) {
	if ctx != nil {
		s, _ := ctx.Value(ctxKey{}).(*Session)
		for ; s != nil; s = s.outer {
			if s.m == m {
				return s, nil
			}
		}
	}
	if !m.noSessionLogged.Swap(true) {
		m.log.Error("sessionkit: no session of this Manager in the request context: is the handler behind its middleware?")
	}
	return nil, ErrNoSession
}
