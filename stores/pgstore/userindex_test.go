package pgstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// TestUserIndexAtScale: DestroyUser of a user with 10 sessions among 10⁵
// sessions of other users (written with COPY), and the plan of
// UserSessions' query: through the user_id index, not over the table.
func TestUserIndexAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("10⁵ sessions; skipped with -short")
	}
	pool := testPool(t)
	s := newStore(t, pool, Options{})
	if err := s.Open(storetest.Context(t)); err != nil { // the seed writes to the table directly
		t.Fatal(err)
	}
	storetest.UserIndexAtScale(t, s, 100_000, func(ctx context.Context, batch []storetest.Seed) error {
		rows := make([][]any, len(batch))
		for i, r := range batch {
			rows[i] = []any{r.ID, r.Data, r.Expiry, r.User}
		}
		_, err := pool.CopyFrom(ctx, pgx.Identifier{s.opts.Table}, []string{"id", "data", "expiry", "user_id"}, pgx.CopyFromRows(rows))
		return err
	})

	ctx := storetest.Context(t)
	if _, err := pool.Exec(ctx, `ANALYZE `+s.table); err != nil {
		t.Fatal(err)
	}
	var plan []string
	rows, err := pool.Query(ctx, `EXPLAIN SELECT id FROM `+s.table+` WHERE user_id = $1 AND expiry > $2`, "someone", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(plan, "\n"); !strings.Contains(p, s.names.userIdxName) {
		t.Fatalf("UserSessions' query does not use %s:\n%s", s.names.userIdxName, p)
	}
}

// TestUserIndexFollowsRow: a binding is part of its row — Touch keeps it
// past the expiry it was added with, Destroy and GC take it away, and a
// new record under the same ID starts unbound.
func TestUserIndexFollowsRow(t *testing.T) {
	ctx := storetest.Context(t)
	s := newStore(t, testPool(t), Options{})
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

// TestUserIndexMigratesOldTable: a table made before the user index gets
// its user_id column and index from Open, keeps its sessions, and
// indexes users from then on. A store with NoCreateTable leaves the table
// alone: its sessions work, its user index fails until the migration.
func TestUserIndexMigratesOldTable(t *testing.T) {
	ctx := storetest.Context(t)
	pool := testPool(t)
	table := testTable(t)
	dropWith(t, pool, table)
	n, err := names(table)
	if err != nil {
		t.Fatal(err)
	}
	old := []string{
		`CREATE TABLE ` + n.table + ` (id TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)`,
		`CREATE INDEX ` + n.expiryIdx + ` ON ` + n.table + ` (expiry)`,
	}
	for _, stmt := range old {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	id := storetest.NewID(t)
	if _, err := pool.Exec(ctx, `INSERT INTO `+n.table+` (id, data, expiry) VALUES ($1, 'old', $2)`, id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	unmigrated, err := New(pool, Options{Table: table, NoCreateTable: true})
	if err != nil {
		t.Fatal(err)
	}
	wantRecord(ctx, t, unmigrated, id, "old")
	if err := unmigrated.Write(ctx, storetest.NewID(t), []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Write to a table without user_id: %v", err)
	}
	if _, err := unmigrated.UserSessions(ctx, "alice"); err == nil {
		t.Fatal("UserSessions on a table without user_id: no error")
	}

	s, err := New(pool, Options{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ctx); err != nil {
		t.Fatalf("Open of an old table: %v", err)
	}
	wantRecord(ctx, t, s, id, "old")
	if err := s.AddUserSession(ctx, "alice", id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantUserSessions(ctx, t, s, "alice", id)
	var current bool
	if err := pool.QueryRow(ctx, hasUserIndexSQL, n.table, n.userIdxName).Scan(&current); err != nil || !current {
		t.Fatalf("after Open: user_id column and index present = %v (%v), want true", current, err)
	}
}

// wantUserSessions fails t unless UserSessions of user lists exactly ids.
func wantUserSessions(ctx context.Context, t *testing.T, s *Store, user string, ids ...string) {
	t.Helper()
	got, err := s.UserSessions(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("UserSessions = %q, want %q", got, ids)
	}
}
