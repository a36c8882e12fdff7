package core

import (
	"context"
	"log/slog"
	"net/http"
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
