package memstore

import (
	"context"
	"strings"
	"sync"
	"time"
)

// userIndex maps a user to the IDs of their sessions, each with the expiry
// it was added with. User-level calls are rare (login, "log out
// everywhere"), so one mutex is enough.
type userIndex struct {
	mu sync.Mutex
	m  map[string]map[string]int64 // nil once the store is closed
}

// AddUserSession records that session id belongs to user until expiry.
func (s *Store) AddUserSession(ctx context.Context, user, id string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return opError("add user session", err)
	}
	exp := unixNano(expiry)
	u := &s.users
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		return opError("add user session", ErrClosed)
	}
	ids := u.m[user]
	if ids == nil {
		ids = make(map[string]int64)
		u.m[strings.Clone(user)] = ids
	}
	ids[strings.Clone(id)] = exp
	return nil
}

// RemoveUserSession forgets that session id belongs to user. Forgetting an
// unknown pair is not an error.
func (s *Store) RemoveUserSession(ctx context.Context, user, id string) error {
	if err := ctx.Err(); err != nil {
		return opError("remove user session", err)
	}
	u := &s.users
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		return opError("remove user session", ErrClosed)
	}
	if ids := u.m[user]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(u.m, user)
		}
	}
	return nil
}

// UserSessions lists the IDs of user's sessions, in no particular order.
// It may include sessions that ended since; GC forgets those.
func (s *Store) UserSessions(ctx context.Context, user string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError("user sessions", err)
	}
	u := &s.users
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		return nil, opError("user sessions", ErrClosed)
	}
	ids := make([]string, 0, len(u.m[user]))
	for id := range u.m[user] {
		ids = append(ids, id)
	}
	return ids, nil
}

// prune forgets the index entries that expired by cut and whose session is
// not live either: a session whose expiry Touch moved stays indexed.
func (u *userIndex) prune(s *Store, cut int64) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		return opError("gc", ErrClosed)
	}
	for user, ids := range u.m {
		for id, exp := range ids {
			if exp <= cut && !s.liveAt(id, cut) {
				delete(ids, id)
			}
		}
		if len(ids) == 0 {
			delete(u.m, user)
		}
	}
	return nil
}

// liveAt reports whether a record under id outlives cut.
func (s *Store) liveAt(id string, cut int64) bool {
	sh, h := s.locate(id)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.m != nil && sh.live(h, id, cut) != nil
}
