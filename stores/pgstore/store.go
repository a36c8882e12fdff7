package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/core"
)

// Compile-time checks: the capabilities the store really has. It has no
// CreateID (core mints IDs); its Close waits for background lock releases
// and leaves the pool, which belongs to the caller, open.
var (
	_ core.Store     = (*Store)(nil)
	_ core.Toucher   = (*Store)(nil)
	_ core.Exister   = (*Store)(nil)
	_ core.Collector = (*Store)(nil)
	_ core.Opener    = (*Store)(nil)
	_ core.Locker    = (*Store)(nil)
	_ core.Swapper   = (*Store)(nil)
	_ core.UserIndex = (*Store)(nil)
	_ io.Closer      = (*Store)(nil)

	_ core.LockedReader = (*lock)(nil)
	_ core.LockedWriter = (*lock)(nil)
)

// Defaults of Options.
const (
	DefaultTable   = "sessionkit_sessions"
	DefaultLockTTL = 30 * time.Second
)

// Options configures a Store. The zero value is a table named
// "sessionkit_sessions" in the connection's search path, created on first
// use.
type Options struct {
	// Table names the sessions table: "name" or "schema.name", letters,
	// digits and underscores, at most 50 characters per part (default
	// "sessionkit_sessions"). It is always quoted, so case is kept.
	Table string

	// NoCreateTable skips the CREATE TABLE IF NOT EXISTS on first use, and
	// the user_id column and index added to tables made before the user
	// index, for databases whose schema is managed by migrations (see
	// Schema) or whose application role may not create tables.
	NoCreateTable bool

	// LockTTL bounds how long a live holder keeps a session lock (default
	// 30s): after it the lock is released and the holder's write is
	// refused with core.ErrLockLost. A holder that dies loses its lock at
	// once, with its connection.
	LockTTL time.Duration
}

// Store keeps sessions in one PostgreSQL table through a pgx v5 pool that
// the application owns. It is safe for concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	opts  Options
	names schemaNames
	table string // names.table: the quoted, possibly schema-qualified table name
	// lockNS prefixes an id before it is hashed into an advisory lock key,
	// so two tables (or two applications) never share locks.
	lockNS string

	schemaMu sync.Mutex
	ready    atomic.Bool

	// settleTimeout bounds finding out whether a write whose COMMIT reply
	// was lost committed (defaultSettleTimeout; tests shorten it).
	settleTimeout time.Duration

	// releaser releases read-only requests' locks in the background
	// (release.go).
	releaser releaser
}

// New returns a Store over pool, which the caller owns: the store never
// closes or reconfigures it. New does no I/O; the table is created on first
// use (or by Open, which the Manager calls from core.New).
//
// Each held session lock keeps one pool connection until it is released,
// and the Manager may need a second one for the same request, so size the
// pool (MaxConns) above the number of concurrently locked requests.
func New(pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("pgstore: nil pool: %w", core.ErrConfig)
	}
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	if opts.LockTTL == 0 {
		opts.LockTTL = DefaultLockTTL
	}
	if opts.LockTTL < 0 {
		return nil, fmt.Errorf("pgstore: negative LockTTL %v: %w", opts.LockTTL, core.ErrConfig)
	}
	n, err := names(opts.Table)
	if err != nil {
		return nil, err
	}
	return &Store{pool: pool, opts: opts, names: n, table: n.table, lockNS: "sessionkit:" + opts.Table + ":",
		settleTimeout: defaultSettleTimeout}, nil
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,49}$`)

// schemaNames are the quoted names of the store's table and indexes.
type schemaNames struct {
	table     string // possibly schema-qualified
	expiryIdx string
	userIdx   string
	// userIdxName is userIdx unquoted, to look it up in the catalog.
	userIdxName string
}

// names validates a table name and returns it and its indexes' names.
func names(table string) (schemaNames, error) {
	parts := strings.Split(table, ".")
	if len(parts) > 2 {
		return schemaNames{}, fmt.Errorf("pgstore: table %q: want name or schema.name: %w", table, core.ErrConfig)
	}
	for _, p := range parts {
		if !identRE.MatchString(p) {
			return schemaNames{}, fmt.Errorf("pgstore: table %q: each part must match %s: %w", table, identRE, core.ErrConfig)
		}
	}
	name := parts[len(parts)-1]
	return schemaNames{
		table:       pgx.Identifier(parts).Sanitize(),
		expiryIdx:   pgx.Identifier{name + "_expiry_idx"}.Sanitize(),
		userIdx:     pgx.Identifier{name + "_user_idx"}.Sanitize(),
		userIdxName: name + "_user_idx",
	}, nil
}

// Schema returns the DDL that creates the sessions table and its indexes,
// for migrations. It is what the store runs on first use unless
// Options.NoCreateTable is set. Its last two statements bring a table made
// before the user index up to date (they do nothing to a current one).
func Schema(table string) (string, error) {
	if table == "" {
		table = DefaultTable
	}
	n, err := names(table)
	if err != nil {
		return "", err
	}
	return strings.Join(append(tableDDL(n), userIndexDDL(n)...), ";\n") + ";\n", nil
}

// tableDDL creates the table and its expiry index.
func tableDDL(n schemaNames) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + n.table + ` (
	id      TEXT PRIMARY KEY,
	data    BYTEA NOT NULL,
	expiry  TIMESTAMPTZ NOT NULL,
	user_id TEXT
)`,
		`CREATE INDEX IF NOT EXISTS ` + n.expiryIdx + ` ON ` + n.table + ` (expiry)`,
	}
}

// userIndexDDL adds the user index to a table made before it: the user_id
// column (NULL for every existing row, so no rewrite) and a partial index
// over the bound rows only.
func userIndexDDL(n schemaNames) []string {
	return []string{
		`ALTER TABLE ` + n.table + ` ADD COLUMN IF NOT EXISTS user_id TEXT`,
		`CREATE INDEX IF NOT EXISTS ` + n.userIdx + ` ON ` + n.table + ` (user_id) WHERE user_id IS NOT NULL`,
	}
}

// hasUserIndexSQL tells whether the table has the user_id column and its
// index already, so that a current table is not locked by an ALTER TABLE
// every time a server starts.
const hasUserIndexSQL = `SELECT
	EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'user_id' AND NOT attisdropped)
	AND EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = to_regclass($1) AND c.relname = $2)`

// schemaLockKey serialises schema creation across processes: concurrent
// CREATE TABLE IF NOT EXISTS can otherwise fail on the system catalogs.
const schemaLockKey = "sessionkit:schema"

// Open creates the table and its indexes if they do not exist yet, and
// adds the user_id column and its index to a table made before the user
// index (unless Options.NoCreateTable), so a Manager fails at start instead
// of at the first request. Calling it is optional: every method does it on
// first use.
func (s *Store) Open(ctx context.Context) error {
	return wrap("open", s.ensureSchema(ctx))
}

func (s *Store) ensureSchema(ctx context.Context) error {
	if s.ready.Load() || s.opts.NoCreateTable {
		return nil
	}
	s.schemaMu.Lock()
	defer s.schemaMu.Unlock()
	if s.ready.Load() {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, schemaLockKey); err != nil {
			return err
		}
		stmts := tableDDL(s.names)
		var current bool
		if err := tx.QueryRow(ctx, hasUserIndexSQL, s.table, s.names.userIdxName).Scan(&current); err != nil {
			return err
		}
		if !current {
			stmts = append(stmts, userIndexDDL(s.names)...)
		}
		for _, stmt := range stmts {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("creating the sessions table: %w", err)
	}
	s.ready.Store(true)
	return nil
}

// begin checks ctx and the schema before a call.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.ensureSchema(ctx)
}

// wrap turns a driver error into the store's error; op names the method.
// IDs never appear in it.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// Read returns the data of id's record if it has not expired.
func (s *Store) Read(ctx context.Context, id string) ([]byte, bool, error) {
	if err := s.begin(ctx); err != nil {
		return nil, false, wrap("read", err)
	}
	data, found, err := s.read(ctx, s.pool, id)
	return data, found, wrap("read", err)
}

// rowQuerier is a pool or one of its connections.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) read(ctx context.Context, q rowQuerier, id string) ([]byte, bool, error) {
	return scanData(q.QueryRow(ctx, `SELECT data FROM `+s.table+` WHERE id = $1 AND expiry > $2`, id, time.Now()))
}

// scanData scans a row holding one data column, or none.
func scanData(row pgx.Row) ([]byte, bool, error) {
	var data []byte
	err := row.Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}

// upsertSQL writes a record whatever was there.
func (s *Store) upsertSQL() string {
	return `INSERT INTO ` + s.table + ` (id, data, expiry) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`
}

// Write stores data under id until expiry (an upsert).
func (s *Store) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.begin(ctx); err != nil {
		return wrap("write", err)
	}
	_, err := s.pool.Exec(ctx, s.upsertSQL(), id, nonNil(data), expiry)
	return wrap("write", err)
}

// nonNil keeps an empty record distinct from a NULL one.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Destroy deletes id's record.
func (s *Store) Destroy(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return wrap("destroy", err)
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM `+s.table+` WHERE id = $1`, id)
	return wrap("destroy", err)
}

// Touch moves the expiry of id's live record without rewriting its data;
// an absent or expired record stays so.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if err := s.begin(ctx); err != nil {
		return wrap("touch", err)
	}
	_, err := s.pool.Exec(ctx, `UPDATE `+s.table+` SET expiry = $2 WHERE id = $1 AND expiry > $3`, id, expiry, time.Now())
	return wrap("touch", err)
}

// Exists reports whether id has a live record.
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	if err := s.begin(ctx); err != nil {
		return false, wrap("exists", err)
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.table+` WHERE id = $1 AND expiry > $2)`, id, time.Now()).Scan(&ok)
	return ok, wrap("exists", err)
}

// Swap is an atomic compare-and-swap on id's record, one statement: with
// old != nil it writes new only if the live record holds exactly old; with
// old == nil only if there is no live record (an expired one is replaced).
func (s *Store) Swap(ctx context.Context, id string, old, new []byte, expiry time.Time) (bool, error) {
	if err := s.begin(ctx); err != nil {
		return false, wrap("swap", err)
	}
	now := time.Now()
	var (
		n   int64
		err error
	)
	if old != nil {
		var tag pgconn.CommandTag
		tag, err = s.pool.Exec(ctx, `UPDATE `+s.table+` SET data = $3, expiry = $4
WHERE id = $1 AND data = $2 AND expiry > $5`, id, old, nonNil(new), expiry, now)
		n = tag.RowsAffected()
	} else {
		var tag pgconn.CommandTag
		tag, err = s.pool.Exec(ctx, `INSERT INTO `+s.table+` AS t (id, data, expiry) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry WHERE t.expiry <= $4`, id, nonNil(new), expiry, now)
		n = tag.RowsAffected()
	}
	if err != nil {
		return false, wrap("swap", err)
	}
	return n == 1, nil
}

// gcBatch is how many expired rows one GC statement considers.
const gcBatch = 200

// GC deletes the records that expired at or before now and reports how
// many it deleted. A record whose session lock is held is skipped: each
// candidate's advisory lock is tried (pg_try_advisory_xact_lock) in the
// DELETE itself, so a lock taken by a request wins over the sweep and a
// request cannot take the lock of a row being deleted. It works through the
// expiry index in batches, so it never holds many locks at once.
func (s *Store) GC(ctx context.Context, now time.Time) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, wrap("gc", err)
	}
	var (
		removed   int
		afterExp  time.Time
		afterID   string
		firstPass = true
	)
	for {
		rows, err := s.pool.Query(ctx, `SELECT id, expiry FROM `+s.table+`
WHERE expiry <= $1 AND ($4 OR (expiry, id) > ($2, $3))
ORDER BY expiry, id LIMIT `+fmt.Sprint(gcBatch), now, afterExp, afterID, firstPass)
		if err != nil {
			return removed, wrap("gc", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id, &afterExp); err != nil {
				rows.Close()
				return removed, wrap("gc", err)
			}
			ids = append(ids, id)
			afterID = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return removed, wrap("gc", err)
		}
		if len(ids) == 0 {
			return removed, nil
		}
		firstPass = false
		tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.table+`
WHERE id = ANY($1) AND expiry <= $2 AND pg_try_advisory_xact_lock(hashtextextended($3 || id, 0))`,
			ids, now, s.lockNS)
		if err != nil {
			return removed, wrap("gc", err)
		}
		removed += int(tag.RowsAffected())
		if len(ids) < gcBatch {
			return removed, nil
		}
	}
}
