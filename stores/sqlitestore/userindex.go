package sqlitestore

import (
	"context"
	"fmt"
	"time"
)

// The user index lives in the session table itself: a nullable user_id
// column, set on the rows of bound sessions, with a partial index over
// those rows only. A binding is part of its row, so it goes when the row
// goes — Destroy, GC — and lives as long as the row does, however often
// Touch extends it; there is nothing to keep in step. A session belongs to
// at most one user.

// AddUserSession binds id's row to user; expiry is the row's own. A row
// already bound to user is not rewritten. A session without a row (ended
// meanwhile) is not bound: there is nothing left to find.
func (s *Store) AddUserSession(ctx context.Context, user, id string, _ time.Time) error {
	q, err := s.queries(ctx)
	if err != nil {
		return err
	}
	if _, err := execRetry(ctx, q.addUser, id, user); err != nil {
		return fmt.Errorf("sqlitestore: add user session: %w", err)
	}
	return nil
}

// RemoveUserSession unbinds id's row if it is bound to user. Forgetting an
// unknown pair is not an error.
func (s *Store) RemoveUserSession(ctx context.Context, user, id string) error {
	q, err := s.queries(ctx)
	if err != nil {
		return err
	}
	if _, err := execRetry(ctx, q.removeUser, id, user); err != nil {
		return fmt.Errorf("sqlitestore: remove user session: %w", err)
	}
	return nil
}

// UserSessions lists the IDs of user's live sessions, in no particular
// order, through the user_id index: its cost grows with the user's
// sessions, not the table's.
func (s *Store) UserSessions(ctx context.Context, user string) ([]string, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	err = retry(ctx, func() error {
		ids = ids[:0]
		rows, err := q.userSessions.QueryContext(ctx, user, nowMS())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: user sessions: %w", err)
	}
	return ids, nil
}
