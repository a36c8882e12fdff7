package core

import (
	"context"
	"errors"
	"time"
)

// create stores a new session under a freshly minted ID.
func (m *Manager) create(ctx context.Context, s *Session, now time.Time) error {
	s.rec.created = now
	m.setDeadline(&s.rec)
	payload, err := m.payload(&s.rec, s.values)
	if err != nil {
		return err
	}
	id, r, data, expiry, err := m.createRecord(ctx, s, payload, now)
	if err != nil {
		return err
	}
	s.id, s.target, s.state = id, id, stateLoaded
	s.regenerate = false
	m.stored(ctx, s, r, data, expiry)
	m.observe(ctx, Event{Kind: EventCreated})
	return nil
}

// createRecord writes s's record with payload under a fresh ID that no
// live session has, and returns the ID, record, bytes and expiry.
func (m *Manager) createRecord(ctx context.Context, s *Session, payload []byte, now time.Time) (string, record, []byte, time.Time, error) {
	r, data, err := m.encodeRecord(s, payload, now)
	if err != nil {
		return "", r, nil, time.Time{}, err
	}
	expiry := m.expiry(&r, now)
	for attempt := 0; attempt < 3; attempt++ {
		id, err := m.newID(ctx)
		if err != nil {
			return "", r, nil, time.Time{}, err
		}
		ok, err := m.createIfAbsent(ctx, id, data, expiry)
		if err != nil {
			return "", r, nil, time.Time{}, err
		}
		if ok {
			return id, r, data, expiry, nil
		}
	}
	return "", r, nil, time.Time{}, storeErr("write", errors.New("three ID collisions in a row"))
}

// createIfAbsent writes a new record unless id is taken: atomically with
// Swap, otherwise after asking the store whether id exists (Exister, PHP's
// validateId, as PHP's create_sid collision check does; or Read without
// it), so that a colliding ID never overwrites a live session.
func (m *Manager) createIfAbsent(ctx context.Context, id string, data []byte, expiry time.Time) (bool, error) {
	if m.caps.has(canSwap) {
		ok, err := m.store.(Swapper).Swap(ctx, id, nil, data, expiry)
		if !m.unsupported(ctx, err, canSwap) {
			return ok, storeErr("write", err)
		}
	}
	var taken bool
	var err error
	if m.caps.has(canExist) {
		taken, err = m.store.(Exister).Exists(ctx, id)
		if m.unsupported(ctx, err, canExist) {
			_, taken, err = m.store.Read(ctx, id)
		}
	} else {
		_, taken, err = m.store.Read(ctx, id)
	}
	if err != nil || taken {
		return false, storeErr("exists", err)
	}
	return true, storeErr("write", m.store.Write(ctx, id, data, expiry))
}

// newID mints an ID with the store's CreateID when it has one, else with
// the configured generator. A store's ID must be valid and carry at least
// 128 bits (strongID).
func (m *Manager) newID(ctx context.Context) (string, error) {
	if m.caps.has(canCreateID) {
		id, err := m.store.(IDCreator).CreateID(ctx)
		if m.unsupported(ctx, err, canCreateID) {
			return m.ids.New()
		}
		if err != nil {
			return "", storeErr("create_id", err)
		}
		if !strongID(id) {
			return "", errorf(ErrInvalidID, "store CreateID returned an ID that is malformed or below %d bits", minIDBits)
		}
		return id, nil
	}
	return m.ids.New()
}
