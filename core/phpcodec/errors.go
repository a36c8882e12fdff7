package phpcodec

import "errors"

// Sentinel errors. Every error the codecs return wraps one of them, so callers
// test with errors.Is.
var (
	// ErrCorrupt reports bytes that are not a session in the codec's format,
	// or that use a construct this package refuses (see the package
	// documentation). Decode never panics and never returns partial data.
	ErrCorrupt = errors.New("phpcodec: corrupt session data")
	// ErrUnrepresentable reports a value PHP's format cannot hold, or that
	// PHP would drop or mangle when it reads or writes the session. Encode
	// refuses such a session as a whole instead of losing part of it.
	ErrUnrepresentable = errors.New("phpcodec: value not representable in PHP's session format")
)
