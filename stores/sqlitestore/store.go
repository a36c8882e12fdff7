package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sessionkit/sessionkit/core"
)

// DefaultLockTTL is Options.LockTTL's default.
const DefaultLockTTL = 30 * time.Second

// Options configures a Store. The zero value uses the table "sessions"
// (and "sessions_locks") and 30-second locks.
type Options struct {
	// Table names the session table; the lock table is Table + "_locks".
	// A plain identifier: [A-Za-z_][A-Za-z0-9_]*, at most 57 bytes.
	Table string
	// LockTTL bounds how long a lock outlives a holder that died without
	// unlocking: after it, the next Lock takes the lock over and the old
	// holder's writes through its lock fail with core.ErrLockLost. Keep it
	// above the longest request. Default 30 s.
	LockTTL time.Duration
}

// Store keeps sessions in a SQLite database through a *sql.DB the caller
// owns and configured (see Open). It is safe for concurrent use, also by
// several processes sharing the database file.
type Store struct {
	db      *sql.DB
	table   string
	lockTTL time.Duration

	mu     sync.Mutex
	q      *queries // nil until the schema is ready
	closed bool
}

var (
	_ core.Store     = (*Store)(nil)
	_ core.Toucher   = (*Store)(nil)
	_ core.Exister   = (*Store)(nil)
	_ core.Collector = (*Store)(nil)
	_ core.Locker    = (*Store)(nil)
	_ core.Swapper   = (*Store)(nil)
	_ core.Opener    = (*Store)(nil)
	_ core.UserIndex = (*Store)(nil)
)

// New returns a Store over db. It does not touch the database: the schema
// is created on first use (or by Open(ctx), which core.New calls).
func New(db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("sqlitestore: %w: nil *sql.DB", core.ErrConfig)
	}
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	if err := checkTable(opts.Table); err != nil {
		return nil, fmt.Errorf("%v: %w", err, core.ErrConfig)
	}
	if opts.LockTTL < 0 {
		return nil, fmt.Errorf("sqlitestore: %w: negative LockTTL", core.ErrConfig)
	}
	if opts.LockTTL == 0 {
		opts.LockTTL = DefaultLockTTL
	}
	if opts.LockTTL < time.Millisecond {
		return nil, fmt.Errorf("sqlitestore: %w: LockTTL below a millisecond", core.ErrConfig)
	}
	return &Store{db: db, table: opts.Table, lockTTL: opts.LockTTL}, nil
}

// Open opens (creating it if needed) the SQLite database file at path with
// the settings the store expects: WAL journal (readers never wait for the
// writer), a 5-second busy timeout (writers queue instead of failing with
// "database is locked"), synchronous=NORMAL (safe with WAL) and
// transactions that take the write lock up front (_txlock=immediate). It
// is the same as
//
//	sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_txlock=immediate")
//
// with path escaped. Callers who open the database themselves should set
// at least journal_mode(WAL) and busy_timeout(5000) in their DSN.
func Open(path string) (*sql.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlitestore: %w: empty database path", core.ErrConfig)
	}
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+escaped+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open: journal mode is %q, not WAL (an in-memory database?)", mode)
	}
	return db, nil
}

// Open creates the schema if it does not exist and prepares the store's
// statements. The store calls it on first use; core.New calls it up front
// so that a wrong database fails at start-up.
func (s *Store) Open(ctx context.Context) error {
	_, err := s.queries(ctx)
	return err
}

// Close releases the store's prepared statements. It does not close the
// *sql.DB, which belongs to the caller. The store is unusable afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.q == nil {
		return nil
	}
	err := s.q.close()
	s.q = nil
	return err
}

// Read returns the live record under id.
func (s *Store) Read(ctx context.Context, id string) ([]byte, bool, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return nil, false, err
	}
	return read(ctx, q, id)
}

// read is Read on ready queries; locks read the same way.
func read(ctx context.Context, q *queries, id string) ([]byte, bool, error) {
	var data []byte
	err := retry(ctx, func() error {
		return q.read.QueryRowContext(ctx, id, nowMS()).Scan(&data)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlitestore: read: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}

// Write upserts the record under id in one statement.
func (s *Store) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	q, err := s.queries(ctx)
	if err != nil {
		return err
	}
	if _, err := execRetry(ctx, q.write, id, blob(data), expiry.UnixMilli()); err != nil {
		return fmt.Errorf("sqlitestore: write: %w", err)
	}
	return nil
}

// Destroy deletes the record under id.
func (s *Store) Destroy(ctx context.Context, id string) error {
	q, err := s.queries(ctx)
	if err != nil {
		return err
	}
	if _, err := execRetry(ctx, q.destroy, id); err != nil {
		return fmt.Errorf("sqlitestore: destroy: %w", err)
	}
	return nil
}

// Touch moves a live record's expiry; absent or expired records stay so.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	q, err := s.queries(ctx)
	if err != nil {
		return err
	}
	if _, err := execRetry(ctx, q.touch, expiry.UnixMilli(), id, nowMS()); err != nil {
		return fmt.Errorf("sqlitestore: touch: %w", err)
	}
	return nil
}

// Exists reports whether a live record exists under id.
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return false, err
	}
	var ok bool
	err = retry(ctx, func() error { return q.exists.QueryRowContext(ctx, id, nowMS()).Scan(&ok) })
	if err != nil {
		return false, fmt.Errorf("sqlitestore: exists: %w", err)
	}
	return ok, nil
}

// Swap is a compare-and-swap in one statement: with old == nil an insert
// that replaces only an expired row, otherwise an update conditioned on
// the live row's bytes being old.
func (s *Store) Swap(ctx context.Context, id string, old, new []byte, expiry time.Time) (bool, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return false, err
	}
	var n int64
	if old == nil {
		n, err = execRetry(ctx, q.create, id, blob(new), expiry.UnixMilli(), nowMS())
	} else {
		n, err = execRetry(ctx, q.swap, blob(new), expiry.UnixMilli(), id, nowMS(), blob(old))
	}
	if err != nil {
		return false, fmt.Errorf("sqlitestore: swap: %w", err)
	}
	return n == 1, nil
}

// gcBatch is how many rows one GC statement deletes, so the write lock is
// never held for long and requests' writes interleave with a big sweep.
const gcBatch = 500

// GC deletes the records that expired at now, except those whose session
// is locked (a live row in the lock table), in batches of 500 rows, then
// the lock rows that expired. It stops early when ctx ends.
func (s *Store) GC(ctx context.Context, now time.Time) (int, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return 0, err
	}
	removed := 0
	for {
		n, err := execRetry(ctx, q.gc, now.UnixMilli(), nowMS(), gcBatch)
		removed += int(n)
		if err != nil {
			return removed, fmt.Errorf("sqlitestore: gc: %w", err)
		}
		if n < gcBatch {
			break
		}
	}
	if _, err := execRetry(ctx, q.gcLocks, nowMS()); err != nil {
		return removed, fmt.Errorf("sqlitestore: gc: %w", err)
	}
	return removed, nil
}

// queries returns the prepared statements, creating the schema and
// preparing them on first use.
func (s *Store) queries(ctx context.Context) (*queries, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("sqlitestore: store closed")
	}
	if s.q != nil {
		return s.q, nil
	}
	if err := createSchema(ctx, s.db, s.table); err != nil {
		return nil, fmt.Errorf("sqlitestore: create schema: %w", err)
	}
	q, err := prepare(ctx, s.db, s.table)
	if err != nil {
		return nil, err
	}
	s.q = q
	return q, nil
}

// createSchema runs Schema's DDL, adding the user_id column to a session
// table made before the user index on the way, before its index.
func createSchema(ctx context.Context, db *sql.DB, table string) error {
	exec := func(stmt string, args ...any) error {
		return retry(ctx, func() error {
			_, err := db.ExecContext(ctx, stmt, args...)
			return err
		})
	}
	if err := exec(tableDDL(table)); err != nil {
		return err
	}
	var has bool
	if err := retry(ctx, func() error {
		return db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pragma_table_info(?) WHERE name = 'user_id')`, table).Scan(&has)
	}); err != nil {
		return err
	}
	if !has {
		alter, _ := UserColumnDDL(table)
		// Another process may have added it since we looked.
		if err := exec(alter); err != nil && !strings.Contains(err.Error(), "duplicate column name") {
			return err
		}
	}
	return exec(userIndexDDL(table))
}

// queries are the store's prepared statements. The table names are
// validated identifiers; every value, IDs above all, is a bound parameter.
type queries struct {
	read, exists          *sql.Stmt
	write, destroy, touch *sql.Stmt
	create, swap          *sql.Stmt
	gc, gcLocks           *sql.Stmt
	lock, lockExpires     *sql.Stmt
	lockedWrite, unlock   *sql.Stmt
	addUser, removeUser   *sql.Stmt
	userSessions          *sql.Stmt
}

func prepare(ctx context.Context, db *sql.DB, table string) (*queries, error) {
	t, l := quote(table), quote(LockTable(table))
	upsert := ` ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`
	q := &queries{}
	src := []struct {
		dst **sql.Stmt
		sql string
	}{
		{&q.read, `SELECT data FROM ` + t + ` WHERE id = ? AND expiry > ?`},
		{&q.exists, `SELECT EXISTS (SELECT 1 FROM ` + t + ` WHERE id = ? AND expiry > ?)`},
		{&q.write, `INSERT INTO ` + t + ` (id, data, expiry) VALUES (?, ?, ?)` + upsert},
		{&q.destroy, `DELETE FROM ` + t + ` WHERE id = ?`},
		{&q.touch, `UPDATE ` + t + ` SET expiry = ? WHERE id = ? AND expiry > ?`},
		// Create only over an expired row: the DO UPDATE's WHERE turns a
		// live conflicting row into "0 rows changed".
		{&q.create, `INSERT INTO ` + t + ` (id, data, expiry) VALUES (?, ?, ?)` + upsert + ` WHERE ` + t + `.expiry <= ?`},
		{&q.swap, `UPDATE ` + t + ` SET data = ?, expiry = ? WHERE id = ? AND expiry > ? AND data = ?`},
		{&q.gc, `DELETE FROM ` + t + ` WHERE rowid IN (SELECT s.rowid FROM ` + t + ` s WHERE s.expiry <= ?1
			AND NOT EXISTS (SELECT 1 FROM ` + l + ` k WHERE k.id = s.id AND k.expires > ?2) LIMIT ?3)`},
		{&q.gcLocks, `DELETE FROM ` + l + ` WHERE expires <= ?`},
		// Take the lock if it is free or its holder's TTL ran out.
		{&q.lock, `INSERT INTO ` + l + ` (id, token, expires) VALUES (?1, ?2, ?3)
			ON CONFLICT (id) DO UPDATE SET token = excluded.token, expires = excluded.expires WHERE ` + l + `.expires <= ?4`},
		{&q.lockExpires, `SELECT expires FROM ` + l + ` WHERE id = ?`},
		// Write only while the lock row still carries our token and has
		// not expired: one statement, so nobody can take the lock between
		// the check and the write.
		{&q.lockedWrite, `INSERT INTO ` + t + ` (id, data, expiry) SELECT ?1, ?2, ?3
			WHERE EXISTS (SELECT 1 FROM ` + l + ` WHERE id = ?1 AND token = ?4 AND expires > ?5)` + upsert},
		{&q.unlock, `DELETE FROM ` + l + ` WHERE id = ? AND token = ?`},
		// A row already bound to the user is not rewritten.
		{&q.addUser, `UPDATE ` + t + ` SET user_id = ?2 WHERE id = ?1 AND user_id IS NOT ?2`},
		{&q.removeUser, `UPDATE ` + t + ` SET user_id = NULL WHERE id = ? AND user_id = ?`},
		{&q.userSessions, `SELECT id FROM ` + t + ` WHERE user_id = ? AND expiry > ?`},
	}
	for _, st := range src {
		stmt, err := db.PrepareContext(ctx, st.sql)
		if err != nil {
			q.close()
			return nil, fmt.Errorf("sqlitestore: prepare: %w", err)
		}
		*st.dst = stmt
	}
	return q, nil
}

func (q *queries) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{q.read, q.exists, q.write, q.destroy, q.touch, q.create, q.swap, q.gc, q.gcLocks, q.lock, q.lockExpires, q.lockedWrite, q.unlock, q.addUser, q.removeUser, q.userSessions} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// Busy handling. Every statement is a single implicit transaction, and
// SQLite takes the write lock at the start of a writing statement, so no
// reader ever has to upgrade to a writer (the case where busy_timeout
// cannot help). busy_timeout makes a statement wait for the write lock;
// retry additionally re-runs a statement that still failed with
// SQLITE_BUSY or SQLITE_LOCKED — on a *sql.DB opened without a busy
// timeout, or one that expired under heavy load — with a backoff, until
// ctx ends or maxBusyRetries attempts.
const (
	maxBusyRetries = 100
	minBusyBackoff = time.Millisecond
	maxBusyBackoff = 50 * time.Millisecond
)

// retry runs fn until it does not fail with a busy error.
func retry(ctx context.Context, fn func() error) error {
	backoff := minBusyBackoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !isBusy(err) || attempt == maxBusyRetries {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
		if backoff *= 2; backoff > maxBusyBackoff {
			backoff = maxBusyBackoff
		}
	}
}

// execRetry executes st with retry and returns the rows it changed.
func execRetry(ctx context.Context, st *sql.Stmt, args ...any) (int64, error) {
	var n int64
	err := retry(ctx, func() error {
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// isBusy reports SQLITE_BUSY or SQLITE_LOCKED, with any extended code.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

// blob keeps an empty record from being bound as NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func nowMS() int64 { return time.Now().UnixMilli() }
