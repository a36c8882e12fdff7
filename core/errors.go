package core

import (
	"errors"
	"fmt"

	"github.com/sessionkit/sessionkit/internal/errs"
)

// Sentinel errors. Every error the package returns wraps one of them, so
// callers test with errors.Is and never with string matching.
var (
	// ErrConfig reports an invalid Config or Cookie setting, from New.
	ErrConfig = errors.New("core: invalid configuration")
	// ErrStore reports that the store failed (down, timed out, refused).
	// The middleware answers it with 503 and does not run the handler.
	ErrStore = errors.New("core: store unavailable")
	// ErrLockTimeout reports that the session lock could not be taken
	// before the request's context ended.
	ErrLockTimeout = errors.New("core: session lock not acquired")
	// ErrLockLost reports that a lock expired while its holder still worked:
	// the holder's write was refused so it cannot overwrite newer data.
	ErrLockLost = errs.LockLost
	// ErrTooLarge reports session data above Config.MaxDataSize, or values
	// that would cost BinaryCodec more to decode than it allows (4× their
	// encoded size, at least 256 KiB); nothing was written.
	ErrTooLarge = errors.New("core: session data too large")
	// ErrCorrupt reports a stored record that cannot be decoded. The
	// Manager treats such a record as missing and reports it to the logger.
	ErrCorrupt = errors.New("core: corrupt session record")
	// ErrUnsupportedType reports a value the codec cannot encode.
	ErrUnsupportedType = errors.New("core: unsupported value type")
	// ErrNoSession reports that no session is attached to a context.
	ErrNoSession = errors.New("core: no session in context")
	// ErrInvalidID reports an ID that breaks the ID rules.
	ErrInvalidID = errors.New("core: invalid session id")
	// ErrReadOnly reports a change to a session opened read-only.
	ErrReadOnly = errors.New("core: session is read-only")
	// ErrConflict reports that a concurrent request changed the same key
	// of the same session; the other request's value was kept.
	ErrConflict = errors.New("core: concurrent update of the same session key")
	// ErrRNG reports that the system's random source failed; no ID was made.
	ErrRNG = errors.New("core: random source failed")
	// ErrNotSupported is what an optional store method (Touch, Exists,
	// CreateID, GC, Swap, Lock, the UserIndex methods) returns, wrapped, when
	// the store has the method but not the capability: a FuncStore without
	// that function, or a wrapper around a store that lacks it. The Manager
	// then falls back exactly as if the method were absent, and stops
	// calling it. For Lock it is a configuration error: Config.Locking
	// needs a store that can lock.
	ErrNotSupported = errors.New("core: not supported by this store")
	// ErrHeadersSent reports a change that needs a new token (a new or
	// regenerated session) made after the response headers went out.
	ErrHeadersSent = errors.New("core: session token changed after the response headers were sent")
)

// StoreError is the error a failing store call becomes. It matches ErrStore
// with errors.Is and unwraps to the store's own error.
type StoreError struct {
	Op  string // the store method: "read", "write", "touch", "destroy", "lock", …
	Err error
}

func (e *StoreError) Error() string { return fmt.Sprintf("core: store %s: %v", e.Op, e.Err) }

// Unwrap returns the store's own error.
func (e *StoreError) Unwrap() error { return e.Err }

// Is makes a StoreError match ErrStore.
func (e *StoreError) Is(target error) bool { return target == ErrStore }

func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *StoreError
	if errors.As(err, &se) {
		return err
	}
	return &StoreError{Op: op, Err: err}
}

// errorf wraps sentinel with a formatted message.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
