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
// are minted server-side only (43 characters of 6 bits, 258 bits from
// crypto/rand, in PHP's ID alphabet). Every ID, presented or minted by a
// store, is MinIDLength to MaxIDLength characters of [A-Za-z0-9,-].
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
// absolute deadline. The old ID's record becomes a forward to the new one:
// requests that were already under way when the ID moved (another tab's
// XHR) follow it, and so do requests arriving within RegenerateGrace; they
// read and change the new session but are never told its ID, so a token
// planted before the login never leads to the logged-in session (OWASP
// ASVS 7.2.4). Later requests with the old token find a dead token.
// Destroy (logout) deletes the record and expires the cookie; through an
// old token within the grace period it ends the new session too. Idle and
// absolute timeouts are both enforced server-side.
//
// Read-only accessors (ID, IDHash, IsNew) never load the session; every
// other Session method loads it on first use. A response whose session was
// used carries Cache-Control: no-store and Vary: Cookie (PHP's nocache
// limiter) unless Config.AllowCaching.
//
// # Concurrency
//
// One rule holds for every store: a change is applied only against the
// session as the request loaded it, and a 2xx answer means it was.
//
// With Config.Locking the session is locked from its load to its final
// commit through the store's Lock, as PHP's files handler does: concurrent
// requests of one user are serialised and none loses an update. Destroy and
// Manager.DestroyUser take the same lock, so a logout waits for a request
// that holds the session and that request can never write it back.
//
// Without locking, stores that can compare-and-swap (Swapper; every store
// in this repository) commit by swapping against the bytes the request
// loaded. When another request changed the record meanwhile, this
// request's changed keys are rebased onto it: changes to different keys
// both survive, and a key that changed since this request read it is a
// conflict (ErrConflict, 409 by default), even when both want the same
// value — two increments of one value must not both succeed. A logout
// swaps a tombstone in for exactly the record it read before deleting it,
// so a concurrent commit or Regenerate fails (ErrConflict) rather than
// bringing the session back, and a forward written meanwhile is seen and
// followed. Stores with neither Lock nor Swap get PHP's own guarantees:
// last write wins.
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
// The error response of a failed session carries only what the
// ErrorHandler writes: headers the handler set (its own cookies, a
// Location) are dropped.
//
// Adapters for other frameworks use the same primitives as Handler: Load,
// Commit (before the headers leave), Release, NewContext and ErrorStatus.
package core
