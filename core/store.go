package core

import (
	"context"
	"time"
)

// Store is the save-handler contract: PHP's read, write and destroy callbacks.
// It is all a store must implement; every other PHP callback is an optional
// capability (Toucher, Exister, IDCreator, Collector, Opener, io.Closer,
// Locker, Swapper, UserIndex) that the Manager discovers by type assertion, the way
// net/http discovers http.Flusher, and falls back from when it is absent.
//
// IDs handed to a store have already passed the Manager's signature and
// syntax checks: they match [A-Za-z0-9,-]{22,250}. Stores must still treat
// them as opaque strings (never as paths or SQL). Every method must be safe
// for concurrent use and must honour ctx cancellation.
type Store interface {
	// Read returns the bytes stored under id. An absent or expired record
	// is found=false with a nil error; err is reserved for failures of the
	// store itself (the Manager turns those into a 503, never into an empty
	// session).
	Read(ctx context.Context, id string) (data []byte, found bool, err error)
	// Write stores data under id until expiry, replacing any previous record.
	// The store must not keep a reference to data after Write returns.
	Write(ctx context.Context, id string, data []byte, expiry time.Time) error
	// Destroy removes the record. Destroying an absent id is not an error.
	Destroy(ctx context.Context, id string) error
}

// Toucher is PHP's updateTimestamp: it moves a record's expiry without
// rewriting its data. Touching an absent id is not an error and must not
// create a record. Without it the Manager rewrites the record instead.
type Toucher interface {
	Touch(ctx context.Context, id string, expiry time.Time) error
}

// Exister is PHP's validateId: whether a live record exists under id.
// Without it the Manager uses Read.
type Exister interface {
	Exists(ctx context.Context, id string) (bool, error)
}

// IDCreator is PHP's create_sid. The Manager validates every ID it returns
// with the configured ID rules and rejects the ones that do not pass.
type IDCreator interface {
	CreateID(ctx context.Context) (string, error)
}

// Collector is PHP's gc: it deletes the records that expired before now and
// reports how many it removed. Stores with native expiry (Redis) do not need
// it. A record that is currently locked must not be removed.
type Collector interface {
	GC(ctx context.Context, now time.Time) (removed int, err error)
}

// Opener is PHP's open. The Manager calls it once, from New, not per request
// as PHP does; an error from it is an error from New.
type Opener interface {
	Open(ctx context.Context) error
}

// Locker gives the Manager PHP's session lock: in locking mode the session
// is locked from the moment it is read until its commit, so concurrent
// requests of one user are serialised and none loses an update.
//
// Lock blocks until the lock is held or ctx is done (then it returns an
// error wrapping ctx.Err()). A lock must not outlive a crashed holder for
// ever: stores give it a TTL or tie it to the holder's process.
type Locker interface {
	Lock(ctx context.Context, id string) (Lock, error)
}

// Lock is a held session lock.
//
// A Lock may also implement LockedReader and LockedWriter; the Manager then
// reads and writes through it, which lets a store fold the lock into the
// same round trip as the data and refuse the write of a holder whose lock
// expired (ErrLockLost) instead of applying it.
//
// Lock is an alias of an unnamed interface so that a store can satisfy
// Locker without importing this package. Unlock releases the lock;
// releasing a lock that was already lost or released is not an error.
type Lock = interface {
	Unlock(ctx context.Context) error
}

// LockedReader is an optional refinement of Lock: it reads the record the
// lock protects. The Manager prefers it to Store.Read while the lock is held.
type LockedReader interface {
	Read(ctx context.Context) (data []byte, found bool, err error)
}

// LockedWriter is an optional refinement of Lock: it writes the record only
// if the lock is still held by this holder and reports ErrLockLost otherwise.
// The Manager prefers it to Store.Write while the lock is held.
type LockedWriter interface {
	Write(ctx context.Context, data []byte, expiry time.Time) error
}

// Swapper is an atomic compare-and-swap on one record, the primitive behind
// sessionkit's guarantees without locking:
//   - Swap(ctx, id, old, new, expiry) with old != nil writes new only if the
//     live record's bytes equal old; ok=false when it changed or vanished, so
//     a request that commits after a concurrent logout cannot bring the
//     session back ("destroy wins") and a concurrent change is detected
//     instead of overwritten (the Manager re-reads, merges and retries).
//   - old == nil writes new only if no live record exists (create-if-absent).
//
// Without it the Manager falls back to Write, with the weaker guarantees of
// every other Go session library (last write wins).
type Swapper interface {
	Swap(ctx context.Context, id string, old, new []byte, expiry time.Time) (ok bool, err error)
}

// UserIndex lets a store answer "which sessions does this user have" so that
// an application can log a user out everywhere (ASVS 7.4.2/7.4.3). The
// Manager keeps the index up to date when a session is bound to a user with
// Session.SetUser.
type UserIndex interface {
	// AddUserSession records that session id belongs to user until expiry.
	AddUserSession(ctx context.Context, user, id string, expiry time.Time) error
	// RemoveUserSession forgets one session of user.
	RemoveUserSession(ctx context.Context, user, id string) error
	// UserSessions lists the IDs of user's sessions (possibly including
	// ones that expired since; the Manager checks each).
	UserSessions(ctx context.Context, user string) ([]string, error)
}
