package core

import "context"

type ctxKey struct{}

// NewContext returns a copy of ctx carrying s. Adapters use it to make the
// session reachable from the request's context.
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the session the middleware attached to ctx, or
// ErrNoSession when there is none (the middleware is not installed).
func FromContext(ctx context.Context) (*Session, error) {
	if ctx == nil {
		return nil, ErrNoSession
	}
	s, ok := ctx.Value(ctxKey{}).(*Session)
	if !ok || s == nil {
		return nil, ErrNoSession
	}
	return s, nil
}
