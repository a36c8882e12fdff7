package core

import (
	"context"
	"maps"
	"time"
)

// maxSwapAttempts bounds the compare-and-swap retries of one commit; a
// session that keeps changing under it is a conflict, not a store failure.
const maxSwapAttempts = 8

// update writes the changed values of a loaded session. Under a lock it
// simply writes. Without one it compare-and-swaps against what it loaded:
// when a concurrent request changed the record it rebases this request's
// changed keys onto it (merge) and tries again, follows the session to
// its new ID when a concurrent Regenerate moved it, and never recreates a
// session that a concurrent Destroy ended (ErrConflict: nothing applied).
func (m *Manager) update(ctx context.Context, s *Session, payload []byte, now time.Time) error {
	r, data, err := m.encodeRecord(s, payload, now)
	if err != nil {
		return err
	}
	expiry := m.expiry(&r, now)
	if s.lock == nil && m.caps.has(canSwap) {
		return m.swapUpdate(ctx, s, r, data, expiry, now)
	}
	if err := m.write(ctx, s.target, s.lock, data, expiry); err != nil {
		return err
	}
	m.stored(ctx, s, r, data, expiry)
	return nil
}

// swapUpdate is update by compare-and-swap; without Swap after all
// (ErrNotSupported) it writes, as update does for stores without it.
func (m *Manager) swapUpdate(ctx context.Context, s *Session, r record, data []byte, expiry, now time.Time) error {
	sw := m.store.(Swapper)
	for attempt := 0; attempt < maxSwapAttempts; attempt++ {
		ok, err := sw.Swap(ctx, s.target, s.loaded, data, expiry)
		if attempt == 0 && m.unsupported(ctx, err, canSwap) {
			if err := m.write(ctx, s.target, nil, data, expiry); err != nil {
				return err
			}
			m.stored(ctx, s, r, data, expiry)
			return nil
		}
		if err != nil {
			return storeErr("write", err)
		}
		if ok {
			m.stored(ctx, s, r, data, expiry)
			return nil
		}
		cur, err := m.current(ctx, s)
		if err != nil {
			return err
		}
		if r, data, err = m.merge(s, cur, now); err != nil {
			return err
		}
		expiry = m.expiry(&r, now)
	}
	return errorf(ErrConflict, "the session kept changing; gave up after %d attempts", maxSwapAttempts)
}

// current re-reads s's record after a failed swap, following a
// regeneration that s may follow. A session that ended meanwhile (or
// whose forward s may not follow) is ErrConflict: destroy wins.
func (m *Manager) current(ctx context.Context, s *Session) ([]byte, error) {
	for hops := 0; hops <= maxForwardHops; hops++ {
		data, rec, err := m.reread(ctx, s.target)
		if rec.movedTo == "" || !m.follows(s, &rec) {
			return data, err
		}
		s.target = rec.movedTo
	}
	return nil, errorf(ErrConflict, "the session was regenerated too often")
}

// merge rebases s's changes onto cur, the live record a concurrent request
// stored, and returns the record to write. A key this request changed
// conflicts when it changed in cur since this request loaded it (even to
// the value this request wants: both requests read the same old value,
// and one of their updates would be lost). On success s holds the merged
// values and cur becomes the base of the next swap.
func (m *Manager) merge(s *Session, cur []byte, now time.Time) (record, []byte, error) {
	theirs, theirValues, err := m.decode(cur)
	if err != nil {
		return record{}, nil, errorf(ErrConflict, "the concurrent record does not decode: %v", err)
	}
	base, baseValues, err := m.decode(s.loaded)
	if err != nil {
		return record{}, nil, err
	}
	changed, err := m.ownChanges(s)
	if err != nil {
		return record{}, nil, err
	}
	for k := range changed {
		bv, inBase := baseValues[k]
		tv, inTheirs := theirValues[k]
		if inBase != inTheirs || inBase && !m.sameValue(k, bv, tv) {
			return record{}, nil, errorf(ErrConflict, "key %q was changed by a concurrent request", k)
		}
		if v, ok := s.values[k]; ok {
			theirValues[k] = v
		} else {
			delete(theirValues, k)
		}
	}
	m.rebaseHanded(s, theirValues, changed)
	if s.metaDirty {
		if base.user != theirs.user || base.remember != theirs.remember {
			return record{}, nil, errorf(ErrConflict, "the session's user or persistence was changed by a concurrent request")
		}
		theirs.user, theirs.remember, theirs.deadline = s.rec.user, s.rec.remember, s.rec.deadline
	}
	s.rec, s.values, s.lazy, s.loaded = theirs, theirValues, false, cur
	payload, err := m.payload(&s.rec, s.values)
	if err != nil {
		return record{}, nil, err
	}
	return m.encodeRecord(s, payload, now)
}

// ownChanges is the set of keys s changed since it loaded: those it set
// or deleted, and those changed in place through a value Get handed out.
func (m *Manager) ownChanges(s *Session) (map[string]struct{}, error) {
	inPlace, err := m.changedInPlace(s)
	if err != nil || len(inPlace) == 0 {
		return s.dirty, err
	}
	changed := maps.Clone(s.dirty)
	if changed == nil {
		changed = make(map[string]struct{}, len(inPlace))
	}
	for _, k := range inPlace {
		changed[k] = struct{}{}
	}
	return changed, nil
}
