package core

import (
	"context"
	"errors"
	"time"
)

// Event is one thing the session layer did, reported to Config.Observer
// for metrics and traces (see the otel module for OpenTelemetry). It never
// carries a session ID.
type Event struct {
	Kind EventKind
	// Reason says why, for EventTokenRejected (as logged: "duplicate
	// session tokens", "bad signature, wrong key, expired or oversized
	// token", "malformed session id") and EventExpired ("idle": a presented
	// token whose record is gone; "absolute": past the absolute deadline).
	Reason string
	// Op is the store call that failed, for EventStoreError ("read",
	// "write", "lock", …).
	Op string
	// Duration is how long the lock took, for EventLockWait.
	Duration time.Duration
	// Err is the error, for EventStoreError, EventConflict, EventTooLarge
	// and EventLockTimeout.
	Err error
}

// EventKind is what an Event reports.
type EventKind uint8

// The kinds of Event.
const (
	EventCreated       EventKind = iota + 1 // a new session was stored
	EventLoaded                             // a presented session was read
	EventRegenerated                        // a session moved to a new ID
	EventDestroyed                          // a session was ended (logout, DestroyUser)
	EventExpired                            // a presented session had timed out
	EventTokenRejected                      // a token was refused (tampered, duplicate, malformed)
	EventStoreError                         // the store failed
	EventLockWait                           // a session lock was acquired after Duration
	EventLockTimeout                        // a session lock was not acquired in time
	EventConflict                           // a commit was refused: a concurrent request changed the session
	EventTooLarge                           // a commit was refused: the data is over MaxDataSize
)

var eventNames = [...]string{"", "created", "loaded", "regenerated", "destroyed", "expired",
	"token_rejected", "store_error", "lock_wait", "lock_timeout", "conflict", "too_large"}

// String returns the kind's name in snake case ("token_rejected"), as
// metrics label it.
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// observe reports e to the Observer, if there is one.
func (m *Manager) observe(ctx context.Context, e Event) {
	if m.cfg.Observer != nil {
		m.cfg.Observer(ctx, e)
	}
}

// observeErr reports a failed load or commit by its class.
func (m *Manager) observeErr(ctx context.Context, err error) {
	if m.cfg.Observer == nil || err == nil {
		return
	}
	var se *StoreError
	switch {
	case errors.As(err, &se):
		m.observe(ctx, Event{Kind: EventStoreError, Op: se.Op, Err: err})
	case errors.Is(err, ErrLockTimeout):
		m.observe(ctx, Event{Kind: EventLockTimeout, Err: err})
	case errors.Is(err, ErrConflict):
		m.observe(ctx, Event{Kind: EventConflict, Err: err})
	case errors.Is(err, ErrTooLarge):
		m.observe(ctx, Event{Kind: EventTooLarge, Err: err})
	}
}
