package pgstore

import (
	"context"
	"time"
)

// The user index lives in the sessions table itself: a nullable user_id
// column, set on the rows of bound sessions, with a partial index over
// those rows only. A binding is part of its row, so it goes when the row
// goes — Destroy, GC — and lives as long as the row does, however often
// Touch extends it; there is nothing to keep in step. A session belongs to
// at most one user. The locked write, Write, Swap and Touch never touch
// the column, so they work unchanged on a table that does not have it yet
// (Options.NoCreateTable before the migration).

// AddUserSession binds id's row to user; expiry is the row's own. A row
// already bound to user is not rewritten. A session without a row (ended
// meanwhile) is not bound: there is nothing left to find.
func (s *Store) AddUserSession(ctx context.Context, user, id string, _ time.Time) error {
	if err := s.begin(ctx); err != nil {
		return wrap("add user session", err)
	}
	_, err := s.pool.Exec(ctx, `UPDATE `+s.table+` SET user_id = $2 WHERE id = $1 AND user_id IS DISTINCT FROM $2`, id, user)
	return wrap("add user session", err)
}

// RemoveUserSession unbinds id's row if it is bound to user. Forgetting an
// unknown pair is not an error.
func (s *Store) RemoveUserSession(ctx context.Context, user, id string) error {
	if err := s.begin(ctx); err != nil {
		return wrap("remove user session", err)
	}
	_, err := s.pool.Exec(ctx, `UPDATE `+s.table+` SET user_id = NULL WHERE id = $1 AND user_id = $2`, id, user)
	return wrap("remove user session", err)
}

// UserSessions lists the IDs of user's live sessions, in no particular
// order, through the user_id index: its cost grows with the user's
// sessions, not the table's.
func (s *Store) UserSessions(ctx context.Context, user string) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, wrap("user sessions", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM `+s.table+` WHERE user_id = $1 AND expiry > $2`, user, time.Now())
	if err != nil {
		return nil, wrap("user sessions", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, wrap("user sessions", err)
		}
		ids = append(ids, id)
	}
	return ids, wrap("user sessions", rows.Err())
}
