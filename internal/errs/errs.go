// Package errs holds the sentinel errors that stores in this module share
// with core without importing it (core imports the memory store for its
// default). Users see them as core.ErrLockLost and friends.
package errs

import "errors"

// LockLost reports that a lock expired while its holder still worked.
var LockLost = errors.New("core: session lock lost")
