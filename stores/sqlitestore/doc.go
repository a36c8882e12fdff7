// Package sqlitestore keeps sessions in a SQLite database: embedded like
// the file store, one file that survives restarts, and safe for several
// processes sharing that file. It uses the pure-Go driver modernc.org/sqlite
// (no cgo) and is its own module, so users of other stores never download
// it.
//
//	db, err := sqlitestore.Open("/var/lib/myapp/sessions.db")
//	store, err := sqlitestore.New(db, sqlitestore.Options{})
//	m, err := core.New(store, core.Config{Locking: true})
//
// The *sql.DB is the caller's: the store never opens or closes it. Open is
// a helper that opens a database file the way the store wants it: WAL
// journal, busy_timeout(5000), synchronous(NORMAL) and _txlock=immediate.
// A *sql.DB opened otherwise should at least carry
// "_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)" in its DSN.
//
// # Schema
//
// The store creates its tables on first use with CREATE TABLE IF NOT
// EXISTS (Schema returns the DDL, to run it in a migration instead): a
// session table (Options.Table, default "sessions") with id TEXT PRIMARY
// KEY, data BLOB, expiry INTEGER (Unix milliseconds) indexed for GC and
// user_id TEXT (see below), and a lock table (<table>_locks: id, token,
// expires). The table name is checked to be a plain identifier; IDs and
// data are always bound parameters, never part of the SQL text.
//
// A session table made before the user index has no user_id column. On
// first use the store looks (pragma_table_info) and adds it with ALTER
// TABLE … ADD COLUMN user_id TEXT — instant in SQLite, existing rows read
// NULL — then creates its index; processes opening the file together may
// both try, and the one that finds the column already there goes on. A
// migration tool runs UserColumnDDL once, before Schema. Older versions of
// the store keep working on the migrated file: they never name the column.
//
// # Log out everywhere
//
// The store has core.UserIndex, so Manager.DestroyUser,
// DestroyOtherSessions and UserSessions work with it. The index is the
// user_id column of the session rows, set by AddUserSession on the row of a
// session bound with Session.SetUser and cleared by RemoveUserSession, with
// a partial index (<table>_user) over the bound rows only. UserSessions is
// one query through that index: its cost grows with the user's sessions,
// not with the table (TestUserIndexAtScale: DestroyUser of 10 sessions
// among 10⁵ takes milliseconds). A binding is part of its row, so nothing
// has to be kept in step: Touch extending a session extends its binding,
// and Destroy and GC delete it with the row. A session belongs to at most
// one user.
//
// # Busy handling
//
// Every operation is a single statement, which SQLite runs as its own
// transaction that takes the write lock before it reads — what BEGIN
// IMMEDIATE does for longer transactions — so no connection ever holds a
// read snapshot while waiting to write, the case busy_timeout cannot
// resolve. busy_timeout makes writers queue for the lock; on top of it,
// a statement that still fails with SQLITE_BUSY or SQLITE_LOCKED (a *sql.DB
// without busy_timeout, or a wait that ran out under load) is retried with
// backoff (1 ms doubling to 50 ms, at most 100 attempts, bounded by ctx).
// Fifty concurrent writers on one file never see "database is locked".
//
// # Locking
//
// Lock inserts a row (id, random token, expiry) into the lock table, or
// takes over a row whose expiry passed — one INSERT … ON CONFLICT DO
// UPDATE … WHERE expires <= now — so it excludes other goroutines, other
// *sql.DB handles and other processes alike. A held lock is polled with
// backoff (1 ms to 20 ms) until ctx ends; polls read the row first and only
// try to take it when it looks free. Options.LockTTL (default 30 s) bounds
// how long a crashed holder blocks the session. The lock reads the record
// and writes it only while its row still carries the holder's token and
// has not expired, in the same statement as the write; otherwise the write
// fails with core.ErrLockLost and changes nothing. Unlock deletes the row
// only if it still carries the token. GC never deletes a record whose lock
// row is live.
//
// # Expiry and GC
//
// Reads treat a record whose expiry passed as absent at once. GC deletes
// expired records in batches of 500 rows, each its own short statement, so
// requests keep writing while a large sweep runs, then drops expired lock
// rows.
package sqlitestore
