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
// One row per session: id TEXT PRIMARY KEY, data BYTEA, expiry TIMESTAMPTZ
// and user_id TEXT (see below), with an index on expiry. The store creates the table on first use (or in
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
// # Log out everywhere
//
// The store has core.UserIndex, so Manager.DestroyUser,
// DestroyOtherSessions and UserSessions work with it. The index is the
// user_id column of the session rows, set by AddUserSession on the row of a
// session bound with Session.SetUser (an UPDATE that leaves a row already
// bound to that user alone) and cleared by RemoveUserSession, with a
// partial index (<table>_user_idx) over the bound rows only, so unbound
// sessions cost it nothing. UserSessions is one query through that index:
// its cost grows with the user's sessions, not with the table
// (TestUserIndexAtScale: DestroyUser of 10 sessions among 10⁵ takes
// milliseconds). A binding is part of its row, so nothing has to be kept
// in step: Touch extending a session extends its binding, and Destroy and
// GC delete it with the row. A session belongs to at most one user.
//
// A table made before the user index has no user_id column. Open (or the
// first call) adds it with ALTER TABLE … ADD COLUMN IF NOT EXISTS user_id
// TEXT — a catalog change, no rewrite: existing rows read NULL — and
// creates the partial index, under the same advisory lock as the table
// creation. It does so only when the catalog shows either missing, so a
// server starting against a current table takes no ACCESS EXCLUSIVE lock.
// The index is built with a plain CREATE INDEX, which blocks writes to the
// table while it scans it once; on a large table, create it beforehand
// with CREATE INDEX CONCURRENTLY. With Options.NoCreateTable the store
// changes nothing: run Schema's last two statements in a migration. Until
// then the user index methods fail (and the Manager logs each failed
// AddUserSession), while reading and writing sessions keep working: no
// other statement names the column.
//
// # Locks
//
// Lock takes a session-level advisory lock on a key hashed from the table
// name and the ID, on a pool connection it keeps until the lock is
// released: a holder that dies loses the lock with its connection, and one
// that keeps it past Options.LockTTL has it taken away and its write
// refused with core.ErrLockLost. Taking the lock and reading the data is one
// round trip, writing the data and releasing the lock another, so a locked
// read-modify-write costs two. A locked request that only read waits for
// one: its lock is released in the background after the response (a Lock
// of the same session waits inside PostgreSQL and is granted the moment
// that release lands); the store's Close, which the Manager's Close calls,
// waits for those releases.
//
// The lock's round trip also opens the transaction its Write will commit
// (no table touched yet, so no table lock held) and learns its transaction
// ID. Each locked request therefore uses one transaction ID, and its
// connection sits "idle in transaction" while the request works; keep
// idle_in_transaction_session_timeout, if set, above your slowest request.
//
// Because a held lock occupies a connection, size the pool (MaxConns) above
// the number of requests that hold session locks at the same time, plus the
// ones that only read. Advisory locks are per server session: put the store
// on a direct connection or a session-pooling proxy, not behind a
// transaction-pooling PgBouncer.
//
// # Faults: no lock left behind, no ambiguous write
//
// A crash of the database ends every server session and with it every
// advisory lock: after the restart each session can be locked at once.
// The connections that held locks are dropped, not returned to the pool,
// and nothing of them stays behind in the application (pgx v5.9 fixed a
// goroutine leaked per connection that broke in the middle of a batch;
// this module requires it).
//
// A locked write sends its upsert, COMMIT and unlock in one batch. If the
// connection breaks, or the request's context ends, before COMMIT's reply
// arrives, the transaction may have committed or not; Write then asks the
// server before it answers (outcome.go): the record holding exactly this
// write's bytes and expiry, or txid_status saying "committed" with no crash
// in between, means it committed and Write returns nil; "aborted" means it
// did not. A transaction still "in progress" — the server has not noticed
// that the client went away, or the network stopped delivering — is ended
// with pg_terminate_backend (only that server process, and only while it
// runs this very transaction), so it can never commit later, and asked
// about again. A 5xx from the Manager thus means "not applied". Write
// reports an unknown outcome only if the server cannot be reached for five
// seconds, or if it crashed, the transaction's ID was handed out again and
// a later holder has already overwritten the record. A second Write after
// the first released the lock is a single statement; if its reply is lost,
// it counts as applied when the record holds its bytes.
//
// # Failures and cancellation
//
// A database that is down or slow surfaces as an error from every method
// (the Manager answers 503), never as an empty session. A cancelled or
// expired context reaches the driver, which abandons the query; a waiting
// Lock gives up at once. Requires PostgreSQL 11 or later
// (hashtextextended, sha256, txid_status).
package pgstore
