// Package core is sessionkit's framework-neutral session engine: PHP's
// session module with session_set_save_handler, done for Go.
//
// A Manager owns the whole lifecycle and a Store only keeps bytes:
//
//	transport → signature → ID syntax → store → codec → Session → handler
//	        → commit → codec → store → transport
//
// # Lifecycle
//
// The token (by default a cookie holding the ID signed with
// gorilla/securecookie) is verified and the ID's syntax checked before any
// store call; a bad token of any kind simply means a new session. Strict
// mode is always on: an ID the store does not know is never adopted, new IDs
// are minted server-side only (256 bits from crypto/rand, in PHP's ID
// alphabet).
//
// Everything is lazy. A handler that never touches its session costs no
// store call; a new session that stays empty costs no store row and no
// Set-Cookie; an unchanged session is not rewritten — its idle expiry is
// extended with the store's Touch at most once per TouchInterval.
//
// Changes are committed before the first byte of the response, so the
// cookie always makes it into the headers, and again at the end of the
// request for changes made while streaming.
//
// Regenerate (after login) moves the data to a new ID and keeps the
// absolute deadline; the old ID is destroyed or, with RegenerateGrace,
// forwarded for a short while so parallel requests are not logged out.
// Destroy (logout) deletes the record and expires the cookie. Idle and
// absolute timeouts are both enforced server-side.
//
// # Concurrency
//
// With Config.Locking the session is locked from its load to its final
// commit through the store's Lock, as PHP's files handler does: concurrent
// requests of one user are serialised and none loses an update. Without it,
// stores that can compare-and-swap (Swapper) still keep concurrent changes
// to different keys, report a conflict on the same key (ErrConflict, 409)
// and never bring back a session destroyed meanwhile.
//
// # Stores
//
// A Store implements Read, Write and Destroy. Every other PHP callback is an
// optional capability found by type assertion — Toucher (updateTimestamp),
// Exister (validateId), IDCreator (create_sid), Collector (gc), Opener and
// io.Closer (open/close, once per Manager), Locker, Swapper, UserIndex — and
// the Manager falls back when one is absent. FuncStore builds a store from
// plain functions, so a PHP handler ports one callback at a time.
//
// # Errors
//
// A store failure is never an empty session: the request gets the
// ErrorHandler's answer (503 by default) instead of the handler's. Every
// error wraps one of the package's sentinels (ErrStore, ErrLockTimeout,
// ErrTooLarge, ErrConflict, …); raw IDs never appear in errors or logs.
//
// Adapters for other frameworks use the same primitives as Handler: Load,
// Commit (before the headers leave), Release, NewContext and ErrorStatus.
package core
