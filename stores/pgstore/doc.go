// Package pgstore keeps sessionkit sessions in a PostgreSQL table through a
// pgx v5 pool that the application owns, so several app servers share one
// durable set of sessions.
//
//	pool, err := pgxpool.New(ctx, "postgres://app@db/app")
//	if err != nil {
//		return err
//	}
//	store, err := pgstore.New(pool, pgstore.Options{})
//	if err != nil {
//		return err
//	}
//	m, err := core.New(store, core.Config{Locking: true, Keys: keys})
//
// # Table
//
// One row per session: id TEXT PRIMARY KEY, data BYTEA, expiry TIMESTAMPTZ,
// with an index on expiry. The store creates the table on first use (or in
// Open, which core.New calls) with CREATE TABLE IF NOT EXISTS, serialised by
// an advisory lock so that servers starting together do not trip over each
// other; Schema returns the same DDL for migrations, and
// Options.NoCreateTable turns the creation off. The table name is
// validated and always quoted; IDs only ever travel as parameters.
//
// Expired rows read as absent at once (every query filters on expiry). GC
// deletes them in batches through the expiry index; the Manager runs it in
// the background (core.Config.GCInterval). GC never deletes a row whose
// session lock is held.
//
// # Locks
//
// Lock takes a session-level advisory lock on a key hashed from the table
// name and the ID, on a pool connection it keeps until the lock is
// released: a holder that dies loses the lock with its connection, and one
// that keeps it past Options.LockTTL has it taken away and its write
// refused with core.ErrLockLost. Taking the lock and reading the data is one
// round trip, writing the data and releasing the lock another, so a locked
// read-modify-write costs two.
//
// Because a held lock occupies a connection, size the pool (MaxConns) above
// the number of requests that hold session locks at the same time, plus the
// ones that only read. Advisory locks are per server session: put the store
// on a direct connection or a session-pooling proxy, not behind a
// transaction-pooling PgBouncer.
//
// # Failures and cancellation
//
// A database that is down or slow surfaces as an error from every method
// (the Manager answers 503), never as an empty session. A cancelled or
// expired context reaches the driver, which abandons the query; a waiting
// Lock gives up at once. Requires PostgreSQL 11 or later
// (hashtextextended, sha256).
package pgstore
