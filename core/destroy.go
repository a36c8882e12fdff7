package core

import (
	"context"
	"errors"
	"slices"
	"time"
)

// end ends the stored session a Destroy let go of (logout). The
// chain starts at the ID the client holds: a forward there is ended too,
// and followed to the session it leads to while the forward exists (the
// grace period plus the in-flight window), so a logout sent with the
// pre-login cookie — another tab, racing the login — still ends the
// logged-in session. A forward only ever leads the logout further; it
// never hands the old token the new session's data.
func (m *Manager) end(ctx context.Context, e *ending) error {
	lock, data := e.lock, e.loaded
	e.lock = nil
	if e.target != e.id {
		// Loaded through a forward: walk from the client's ID, one lock
		// at a time, so no two requests ever wait on each other's lock.
		if lock != nil {
			m.release(ctx, e.target, lock)
		}
		lock, data = nil, nil
	}
	_, err := m.endChain(ctx, e.id, lock, data, "", func(*record) bool { return true })
	return err
}

// endChain ends the record at id and, through forwards that follow allows,
// the records they lead to. lock and data, when not nil, are id's lock
// held and id's bytes as loaded. With owner set only live sessions of that
// user are ended. It returns how many live sessions it ended.
func (m *Manager) endChain(ctx context.Context, id string, lock Lock, data []byte, owner string, follow func(*record) bool) (int, error) {
	ended := 0
	for hops := 0; hops <= maxForwardHops; hops++ {
		rec, live, err := m.endOne(ctx, id, lock, data, owner)
		if err != nil {
			return ended, err
		}
		if live {
			ended++
			m.observe(ctx, Event{Kind: EventDestroyed})
		}
		if rec.movedTo == "" || !follow(&rec) {
			break
		}
		id, lock, data = rec.movedTo, nil, nil
	}
	return ended, nil
}

// endOne ends the record at id and returns it; live reports that it was a
// live session (of owner, when set). In locking mode it deletes the record
// under id's lock (taken here unless lock is held already), so no request
// that loaded the session can write it back. Without locking it swaps a
// tombstone in for exactly the bytes it read before deleting, so a
// concurrent commit or Regenerate cannot succeed against the record it
// ends (they fail with ErrConflict), and a forward written meanwhile is
// seen and followed. Stores with neither capability just delete.
func (m *Manager) endOne(ctx context.Context, id string, lock Lock, data []byte, owner string) (rec record, live bool, err error) {
	switch {
	case m.cfg.Locking:
		if lock == nil {
			if lock, err = m.acquire(ctx, id); err != nil {
				return rec, false, err
			}
			data = nil
		}
		defer m.release(ctx, id, lock)
		if data == nil {
			var found bool
			if data, found, err = m.readAt(ctx, id, lock); err != nil || !found {
				return rec, false, err
			}
		}
	case m.caps.has(canSwap):
		if rec, live, err := m.swapOut(ctx, id, data, owner); err != errSwapUnsupported {
			return rec, live, err
		}
	}
	if data == nil {
		var found bool
		if data, found, err = m.store.Read(ctx, id); err != nil || !found {
			return rec, false, storeErr("read", err)
		}
	}
	rec, _, _ = m.decode(data) // an unreadable record is ended all the same
	if owner != "" && rec.live() && rec.user != owner {
		return record{}, false, nil
	}
	if err := m.destroyRecord(ctx, id, &rec); err != nil {
		return rec, false, err
	}
	return rec, rec.live(), nil
}

// errSwapUnsupported is swapOut's answer when the store's Swap reported
// ErrNotSupported: the caller ends the record as for stores without Swap.
var errSwapUnsupported = errors.New("core: store cannot swap")

// swapOut ends the record at id without a lock: tombstone by swap, then
// delete.
func (m *Manager) swapOut(ctx context.Context, id string, data []byte, owner string) (record, bool, error) {
	sw := m.store.(Swapper)
	now := time.Now()
	tomb, err := m.marker(record{gone: true, written: now})
	if err != nil {
		return record{}, false, err
	}
	for attempt := 0; attempt < maxSwapAttempts; attempt++ {
		if data == nil {
			var found bool
			var err error
			if data, found, err = m.store.Read(ctx, id); err != nil || !found {
				return record{}, false, storeErr("read", err)
			}
		}
		rec, _, _ := m.decode(data)
		if rec.gone || owner != "" && rec.live() && rec.user != owner {
			return record{}, false, nil
		}
		ok, err := sw.Swap(ctx, id, data, tomb, now.Add(m.forwardTTL))
		if m.unsupported(ctx, err, canSwap) {
			return record{}, false, errSwapUnsupported
		}
		if err != nil {
			return rec, false, storeErr("write", err)
		}
		if ok {
			if err := m.destroyRecord(ctx, id, &rec); err != nil {
				return rec, false, err
			}
			return rec, rec.live(), nil
		}
		data = nil
	}
	return record{}, false, errorf(ErrConflict, "the session kept changing while it was being destroyed")
}

// destroyRecord deletes the record at id and its user-index entry.
func (m *Manager) destroyRecord(ctx context.Context, id string, rec *record) error {
	if err := m.store.Destroy(ctx, id); err != nil {
		return storeErr("destroy", err)
	}
	m.touched.forget(id)
	if rec.user != "" && m.caps.has(canIndexUser) {
		if err := m.store.(UserIndex).RemoveUserSession(ctx, rec.user, id); err != nil && !m.unsupported(ctx, err, canIndexUser) {
			m.logWarn(ctx, "sessionkit: user index update failed", id, err)
		}
	}
	return nil
}

// indexUser records in the store's user index that session id of user
// lives until expiry.
func (m *Manager) indexUser(ctx context.Context, user, id string, expiry time.Time) {
	if user == "" || !m.caps.has(canIndexUser) {
		return
	}
	if err := m.store.(UserIndex).AddUserSession(ctx, user, id, expiry); err != nil && !m.unsupported(ctx, err, canIndexUser) {
		m.logWarn(ctx, "sessionkit: user index update failed", id, err)
	}
}

// DestroyUser ends every session bound to user with Session.SetUser ("log
// out everywhere", OWASP ASVS 7.4.2) and returns how many live sessions it
// ended. Like a logout, it is final: in locking mode each session is ended
// under its lock, without locking by a compare-and-swap, so no request
// that loaded one of them earlier can write it back. It needs a store with
// the UserIndex capability (ErrConfig otherwise).
func (m *Manager) DestroyUser(ctx context.Context, user string) (int, error) {
	return m.destroyUser(ctx, user, "")
}

// DestroyOtherSessions ends every session of s's user but s itself ("log
// out my other devices", ASVS 7.4.5), with DestroyUser's guarantees, and
// returns how many it ended. A session bound to no user has no others.
func (m *Manager) DestroyOtherSessions(ctx context.Context, s *Session) (int, error) {
	if s == nil {
		return 0, ErrNoSession
	}
	s.mu.Lock()
	ok := s.ensure()
	user, keep := s.rec.user, s.target
	s.mu.Unlock()
	if !ok {
		return 0, s.Err()
	}
	if user == "" {
		return 0, nil
	}
	return m.destroyUser(ctx, user, keep)
}

func (m *Manager) destroyUser(ctx context.Context, user, keep string) (int, error) {
	if !m.caps.has(canIndexUser) {
		return 0, m.noUserIndex()
	}
	if user == "" {
		return 0, nil
	}
	idx := m.store.(UserIndex)
	ids, err := idx.UserSessions(ctx, user)
	if m.unsupported(ctx, err, canIndexUser) {
		return 0, m.noUserIndex()
	}
	if err != nil {
		return 0, storeErr("user_sessions", err)
	}
	all := func(*record) bool { return true }
	n := 0
	for _, id := range ids {
		if id == keep {
			continue
		}
		k, err := m.endChain(ctx, id, nil, nil, user, all)
		n += k
		if err != nil {
			return n, err
		}
		if err := idx.RemoveUserSession(ctx, user, id); err != nil {
			return n, storeErr("user_index", err)
		}
	}
	return n, nil
}

// noUserIndex is the error of a user-index call on a store without one.
func (m *Manager) noUserIndex() error {
	return errorf(ErrConfig, "%T has no user index (UserIndex)", m.store)
}

// SessionInfo describes one live session of a user, for a "your sessions"
// page. It never holds the session's ID.
type SessionInfo struct {
	IDHash   string    // the ID's salted hash, as logs show it (per process)
	Created  time.Time // when the session was created
	LastSeen time.Time // when its record was last written, as Session.LastSeen (zero in PlainRecords mode)
	Deadline time.Time // its absolute deadline
	Remember bool      // a persistent ("remember me") session
}

// UserSessions lists the live sessions bound to user (Session.SetUser),
// oldest first. It needs a store with the UserIndex capability. It reads
// each session once and takes no lock.
func (m *Manager) UserSessions(ctx context.Context, user string) ([]SessionInfo, error) {
	if !m.caps.has(canIndexUser) {
		return nil, m.noUserIndex()
	}
	ids, err := m.store.(UserIndex).UserSessions(ctx, user)
	if m.unsupported(ctx, err, canIndexUser) {
		return nil, m.noUserIndex()
	}
	if err != nil {
		return nil, storeErr("user_sessions", err)
	}
	var out []SessionInfo
	now := time.Now()
	for _, id := range ids {
		data, found, err := m.store.Read(ctx, id)
		if err != nil {
			return nil, storeErr("read", err)
		}
		if !found {
			continue
		}
		rec, _, err := m.decode(data)
		if err != nil || !rec.live() || rec.user != user || !now.Before(rec.deadline) {
			continue
		}
		out = append(out, SessionInfo{IDHash: m.tokens.logID(id), Created: rec.created,
			LastSeen: rec.written, Deadline: rec.deadline, Remember: rec.remember})
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return a.Created.Compare(b.Created) })
	return out, nil
}
