package sqlitestore_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/stores/sqlitestore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// TestUserIndexAtScale: DestroyUser of a user with 10 sessions among 10⁵
// sessions of other users (inserted in one transaction per batch), and the
// plan of UserSessions' query: through the user_id index, not over the
// table. Under the race detector, which slows the pure-Go SQLite tenfold,
// among 10⁴: what it checks there is concurrency, not scale.
func TestUserIndexAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("10⁵ sessions; skipped with -short")
	}
	others := 100_000
	if raceDetector {
		others = 10_000
	}
	db, _ := openDB(t)
	s := newStore(t, db, sqlitestore.Options{})
	if err := s.Open(storetest.Context(t)); err != nil { // the seed writes to the table directly
		t.Fatal(err)
	}
	var one sync.Mutex // one writer at a time: SQLite has one write lock
	storetest.UserIndexAtScale(t, s, others, func(ctx context.Context, batch []storetest.Seed) error {
		one.Lock()
		defer one.Unlock()
		// Rows of 4 values, 1000 to a statement (SQLite allows 32766
		// bound values).
		const perStmt = 1000
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for len(batch) > 0 {
			n := min(perStmt, len(batch))
			args := make([]any, 0, 4*n)
			for _, r := range batch[:n] {
				args = append(args, r.ID, r.Data, r.Expiry.UnixMilli(), r.User)
			}
			values := strings.Repeat("(?, ?, ?, ?), ", n)
			q := `INSERT INTO sessions (id, data, expiry, user_id) VALUES ` + values[:len(values)-2]
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			batch = batch[n:]
		}
		return tx.Commit()
	})

	plan := queryPlan(t, db, `SELECT id FROM sessions WHERE user_id = ? AND expiry > ?`, "someone", time.Now().UnixMilli())
	if !strings.Contains(plan, "sessions_user") {
		t.Fatalf("UserSessions' query does not use sessions_user:\n%s", plan)
	}
}

// queryPlan returns SQLite's EXPLAIN QUERY PLAN of query, one step a line.
func queryPlan(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestUserIndexFollowsRow: a binding is part of its row — Touch keeps it
// past the expiry it was added with, Destroy and GC take it away, and a
// new record under the same ID starts unbound.
func TestUserIndexFollowsRow(t *testing.T) {
	db, _ := openDB(t)
	s := newStore(t, db, sqlitestore.Options{})
	ctx := storetest.Context(t)
	user := "user-" + storetest.NewID(t)
	touched, destroyed, collected := storetest.NewID(t), storetest.NewID(t), storetest.NewID(t)
	short := time.Now().Add(time.Second)
	for _, id := range []string{touched, destroyed, collected} {
		if err := s.Write(ctx, id, []byte("x"), short); err != nil {
			t.Fatal(err)
		}
		if err := s.AddUserSession(ctx, user, id, short); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Touch(ctx, touched, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Destroy(ctx, destroyed); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(short.Add(100 * time.Millisecond)))
	if _, err := s.GC(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantUserSessions(ctx, t, s, user, touched)
	for _, id := range []string{destroyed, collected} {
		if err := s.Write(ctx, id, []byte("new"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	wantUserSessions(ctx, t, s, user, touched)
}

// TestUserIndexMigratesOldTable: a session table made before the user
// index gets its user_id column and index on first use, keeps its
// sessions, and indexes users from then on — also when two stores (two
// processes) open it at the same moment.
func TestUserIndexMigratesOldTable(t *testing.T) {
	db, path := openDB(t)
	ctx := storetest.Context(t)
	old := `CREATE TABLE sessions (id TEXT NOT NULL PRIMARY KEY, data BLOB NOT NULL, expiry INTEGER NOT NULL);
CREATE INDEX sessions_expiry ON sessions (expiry);
CREATE TABLE sessions_locks (id TEXT NOT NULL PRIMARY KEY, token TEXT NOT NULL, expires INTEGER NOT NULL);`
	if _, err := db.ExecContext(ctx, old); err != nil {
		t.Fatal(err)
	}
	id := storetest.NewID(t)
	if _, err := db.ExecContext(ctx, `INSERT INTO sessions (id, data, expiry) VALUES (?, 'old', ?)`, id, time.Now().Add(time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	db2, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	stores := []*sqlitestore.Store{newStore(t, db, sqlitestore.Options{}), newStore(t, db2, sqlitestore.Options{})}
	errs := make(chan error, len(stores))
	for _, s := range stores {
		go func() { errs <- s.Open(ctx) }()
	}
	for range stores {
		if err := <-errs; err != nil {
			t.Fatalf("Open of an old table: %v", err)
		}
	}
	s := stores[0]
	data, found, err := s.Read(ctx, id)
	if err != nil || !found || string(data) != "old" {
		t.Fatalf("Read of the old session = %q, %v, %v", data, found, err)
	}
	if err := stores[1].AddUserSession(ctx, "alice", id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantUserSessions(ctx, t, s, "alice", id)
	if plan := queryPlan(t, db, `SELECT id FROM sessions WHERE user_id = ? AND expiry > ?`, "alice", 0); !strings.Contains(plan, "sessions_user") {
		t.Fatalf("no user index after the migration:\n%s", plan)
	}
}

// TestUserColumnDDL: the migration statement a migration tool runs on an
// old table, then Schema, give the current schema.
func TestUserColumnDDL(t *testing.T) {
	db, _ := openDB(t)
	ctx := storetest.Context(t)
	if _, err := db.ExecContext(ctx, `CREATE TABLE app (id TEXT NOT NULL PRIMARY KEY, data BLOB NOT NULL, expiry INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	alter, err := sqlitestore.UserColumnDDL("app")
	if err != nil {
		t.Fatal(err)
	}
	ddl, err := sqlitestore.Schema("app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, alter+ddl); err != nil {
		t.Fatalf("UserColumnDDL then Schema on an old table: %v", err)
	}
	if _, err := sqlitestore.UserColumnDDL("bad name"); err == nil {
		t.Fatal("UserColumnDDL of a bad table name: no error")
	}
}

// wantUserSessions fails t unless UserSessions of user lists exactly ids.
func wantUserSessions(ctx context.Context, t *testing.T, s *sqlitestore.Store, user string, ids ...string) {
	t.Helper()
	got, err := s.UserSessions(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("UserSessions = %q, want %q", got, ids)
	}
}
