package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

func TestNew(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none") // never dialled
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tests := []struct {
		name    string
		pool    *pgxpool.Pool
		opts    Options
		wantErr bool
	}{
		{"Defaults", pool, Options{}, false},
		{"SchemaQualified", pool, Options{Table: "app.sessions"}, false},
		{"MixedCase", pool, Options{Table: "Sessions_V2"}, false},
		{"NilPool", nil, Options{}, true},
		{"Injection", pool, Options{Table: "s; DROP TABLE users"}, true},
		{"Quote", pool, Options{Table: `s"x`}, true},
		{"ThreeParts", pool, Options{Table: "a.b.c"}, true},
		{"EmptyPart", pool, Options{Table: "a."}, true},
		{"LeadingDigit", pool, Options{Table: "1s"}, true},
		{"TooLong", pool, Options{Table: strings.Repeat("s", 51)}, true},
		{"NegativeLockTTL", pool, Options{LockTTL: -time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.pool, tt.opts)
			if tt.wantErr {
				if !errors.Is(err, core.ErrConfig) {
					t.Fatalf("New: err = %v, want core.ErrConfig", err)
				}
				return
			}
			if err != nil || s == nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

func TestSchema(t *testing.T) {
	tests := []struct {
		table   string
		want    []string
		wantErr bool
	}{
		{"", []string{`CREATE TABLE IF NOT EXISTS "sessionkit_sessions"`, `CREATE INDEX IF NOT EXISTS "sessionkit_sessions_expiry_idx" ON "sessionkit_sessions" (expiry)`,
			`ALTER TABLE "sessionkit_sessions" ADD COLUMN IF NOT EXISTS user_id TEXT`,
			`CREATE INDEX IF NOT EXISTS "sessionkit_sessions_user_idx" ON "sessionkit_sessions" (user_id) WHERE user_id IS NOT NULL`}, false},
		{"app.Sess", []string{`CREATE TABLE IF NOT EXISTS "app"."Sess"`, `"Sess_expiry_idx" ON "app"."Sess"`}, false},
		{"bad name", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			ddl, err := Schema(tt.table)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Schema(%q): no error", tt.table)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(ddl, w) {
					t.Fatalf("Schema(%q) = %s\nwant it to contain %s", tt.table, ddl, w)
				}
			}
		})
	}
}

// TestMigratedSchema applies Schema as a migration would and runs a store
// that does not create tables on it; without the table, that store fails
// with an error rather than reporting sessions absent.
func TestMigratedSchema(t *testing.T) {
	ctx := storetest.Context(t)
	pool := testPool(t)
	table := testTable(t)
	dropWith(t, pool, table)
	s, err := New(pool, Options{Table: table, NoCreateTable: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Read(ctx, storetest.NewID(t)); err == nil {
		t.Fatal("Read without a table: no error")
	}
	ddl, err := Schema(table)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, ddl); err != nil {
		t.Fatalf("applying Schema: %v", err)
	}
	id := storetest.NewID(t)
	if err := s.Write(ctx, id, []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantRecord(ctx, t, s, id, "x")
}

// TestConcurrentFirstUse has many stores (as many app servers) create one
// table at the same moment: none fails.
func TestConcurrentFirstUse(t *testing.T) {
	ctx := storetest.Context(t)
	pool := testPool(t)
	table := testTable(t)
	dropWith(t, pool, table)
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := New(pool, Options{Table: table})
			if err == nil {
				err = s.Write(ctx, storetest.NewID(t), []byte("x"), time.Now().Add(time.Hour))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSchemaQualifiedTable(t *testing.T) {
	ctx := storetest.Context(t)
	pool := testPool(t)
	table := "public." + testTable(t)
	s, err := New(pool, Options{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	dropWith(t, pool, strings.TrimPrefix(table, "public."))
	id := storetest.NewID(t)
	if err := s.Write(ctx, id, []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantRecord(ctx, t, s, id, "x")
}

// TestExpiredRows: an expired row is invisible to every method, Touch does
// not revive it, and a create-if-absent Swap replaces it.
func TestExpiredRows(t *testing.T) {
	ctx := storetest.Context(t)
	s := newStore(t, testPool(t), Options{})
	id := storetest.NewID(t)
	if err := s.Write(ctx, id, []byte("old"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Read(ctx, id); err != nil || found {
		t.Fatalf("Read of an expired row: found=%v err=%v", found, err)
	}
	if ok, err := s.Exists(ctx, id); err != nil || ok {
		t.Fatalf("Exists of an expired row: %v %v", ok, err)
	}
	if err := s.Touch(ctx, id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Read(ctx, id); found {
		t.Fatal("Touch revived an expired row")
	}
	if ok, err := s.Swap(ctx, id, []byte("old"), []byte("x"), time.Now().Add(time.Hour)); err != nil || ok {
		t.Fatalf("Swap against an expired row's bytes: ok=%v err=%v, want false", ok, err)
	}
	if ok, err := s.Swap(ctx, id, nil, []byte("new"), time.Now().Add(time.Hour)); err != nil || !ok {
		t.Fatalf("create-if-absent Swap over an expired row: ok=%v err=%v, want true", ok, err)
	}
	wantRecord(ctx, t, s, id, "new")
}

// TestGCBatchesAndLocks sweeps more expired rows than one batch holds, with
// one of them locked: GC removes all but the locked one, and that one after
// its Unlock.
func TestGCBatchesAndLocks(t *testing.T) {
	ctx := storetest.Context(t)
	s := newStore(t, testPool(t), Options{})
	const n = 2*gcBatch + 50
	ids := make([]string, n)
	past := time.Now().Add(-time.Minute)
	for i := range ids {
		ids[i] = storetest.NewID(t)
		if err := s.Write(ctx, ids[i], []byte("x"), past); err != nil {
			t.Fatal(err)
		}
	}
	live := storetest.NewID(t)
	if err := s.Write(ctx, live, []byte("live"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	l := mustLock(ctx, t, s, ids[gcBatch+7])
	removed, err := s.GC(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if removed != n-1 {
		t.Fatalf("GC removed %d rows, want %d (all expired but the locked one)", removed, n-1)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	s.releaser.wg.Wait() // a read-only holder's release lands after Unlock
	if removed, err := s.GC(ctx, time.Now()); err != nil || removed != 1 {
		t.Fatalf("GC after Unlock removed %d, %v; want 1", removed, err)
	}
	wantRecord(ctx, t, s, live, "live")
}

// TestLockedWrite walks a locked read-modify-write, a second Write after the
// first released the lock, and a write after another holder took it.
func TestLockedWrite(t *testing.T) {
	ctx := storetest.Context(t)
	s := newStore(t, testPool(t), Options{})
	id := storetest.NewID(t)
	if err := s.Write(ctx, id, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	l := mustLock(ctx, t, s, id)
	data, found, err := l.(core.LockedReader).Read(ctx)
	if err != nil || !found || string(data) != "v1" {
		t.Fatalf("locked Read = %q, %v, %v", data, found, err)
	}
	w := l.(core.LockedWriter)
	if err := w.Write(ctx, []byte("v2"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// The lock is free: another holder gets it at once.
	other := mustLock(ctx, t, s, id)
	if err := w.Write(ctx, []byte("stale"), time.Now().Add(time.Hour)); !errors.Is(err, core.ErrLockLost) {
		t.Fatalf("Write while another holds the lock: %v, want ErrLockLost", err)
	}
	if err := other.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	s.releaser.wg.Wait() // other only read: its release lands after Unlock
	if err := w.Write(ctx, []byte("v3"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("second Write, nobody else around: %v", err)
	}
	wantRecord(ctx, t, s, id, "v3")
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDeadHolder kills the server session of a lock holder, as a crashed
// app server would leave it: the lock is free at once, and the dead
// holder's write does not land.
func TestDeadHolder(t *testing.T) {
	ctx := storetest.Context(t)
	pool := testPool(t)
	s := newStore(t, pool, Options{})
	id := storetest.NewID(t)
	if err := s.Write(ctx, id, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	dead := mustLock(ctx, t, s, id)
	pid := dead.(*lock).conn.Conn().PgConn().PID()
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	fresh := mustLock(ctx, t, s, id)
	if err := dead.(core.LockedWriter).Write(ctx, []byte("dead"), time.Now().Add(time.Hour)); err == nil {
		t.Fatal("the dead holder's Write succeeded")
	}
	if err := fresh.(core.LockedWriter).Write(ctx, []byte("fresh"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantRecord(ctx, t, s, id, "fresh")
	_ = dead.Unlock(ctx)
	if err := fresh.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCancellation: a context that ends reaches the driver. A Lock waiting
// for a held lock and a Read stuck behind a table lock both return with
// the context's error, and the store works afterwards.
func TestCancellation(t *testing.T) {
	ctx := storetest.Context(t)
	pool := testPool(t)
	s := newStore(t, pool, Options{})
	id := storetest.NewID(t)
	if err := s.Write(ctx, id, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	t.Run("LockWait", func(t *testing.T) {
		held := mustLock(ctx, t, s, id)
		defer held.Unlock(ctx)
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if l, err := s.Lock(short, id); !errors.Is(err, context.DeadlineExceeded) || l != nil {
			t.Fatalf("Lock on a held lock = %v, %v; want context.DeadlineExceeded", l, err)
		}
	})

	t.Run("RunningQuery", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `LOCK TABLE `+s.table+` IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, _, err = s.Read(short, id)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Read blocked behind a table lock: %v, want context.DeadlineExceeded", err)
		}
	})

	wantRecord(ctx, t, s, id, "v1")
}

// TestServerDown points a store at a port nobody listens on: every method
// returns an error, none reports an absent session.
func TestServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg, err := pgxpool.ParseConfig(fmt.Sprintf("postgres://postgres@%s/sessionkit?connect_timeout=1", addr))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tests := []struct {
		name     string
		noCreate bool
	}{
		{"CreatesTable", false},
		{"NoCreateTable", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(pool, Options{NoCreateTable: tt.noCreate})
			if err != nil {
				t.Fatal(err)
			}
			ctx := storetest.Context(t)
			id := storetest.NewID(t)
			exp := time.Now().Add(time.Hour)
			calls := []struct {
				name string
				call func() error
			}{
				{"Open", func() error { return s.Open(ctx) }},
				{"Read", func() error { _, _, err := s.Read(ctx, id); return err }},
				{"Write", func() error { return s.Write(ctx, id, []byte("x"), exp) }},
				{"Destroy", func() error { return s.Destroy(ctx, id) }},
				{"Touch", func() error { return s.Touch(ctx, id, exp) }},
				{"Exists", func() error { _, err := s.Exists(ctx, id); return err }},
				{"Swap", func() error { _, err := s.Swap(ctx, id, nil, []byte("x"), exp); return err }},
				{"GC", func() error { _, err := s.GC(ctx, time.Now()); return err }},
				{"Lock", func() error { _, err := s.Lock(ctx, id); return err }},
				{"AddUserSession", func() error { return s.AddUserSession(ctx, "alice", id, exp) }},
				{"RemoveUserSession", func() error { return s.RemoveUserSession(ctx, "alice", id) }},
				{"UserSessions", func() error { _, err := s.UserSessions(ctx, "alice"); return err }},
			}
			for _, c := range calls {
				if tt.noCreate && c.name == "Open" {
					continue // Open has nothing to do without table creation
				}
				t.Run(c.name, func(t *testing.T) {
					if err := c.call(); err == nil {
						t.Fatal("no error from a store whose server is down")
					}
				})
			}
		})
	}
}

func mustLock(ctx context.Context, t testing.TB, s *Store, id string) core.Lock {
	t.Helper()
	l, err := s.Lock(ctx, id)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	return l
}

func wantRecord(ctx context.Context, t testing.TB, s *Store, id, want string) {
	t.Helper()
	data, found, err := s.Read(ctx, id)
	if err != nil || !found || string(data) != want {
		t.Fatalf("Read = %q, found=%v, err=%v; want %q", data, found, err, want)
	}
}

// TestLockWaitSlices holds a lock for longer than one server-side wait
// slice: the waiter keeps waiting across slices and gets the lock, with the
// holder's data, once it is released.
func TestLockWaitSlices(t *testing.T) {
	ctx := storetest.Context(t)
	s := newStore(t, testPool(t), Options{})
	id := storetest.NewID(t)
	held := mustLock(ctx, t, s, id)
	got := make(chan error, 1)
	go func() {
		l, err := s.Lock(ctx, id)
		if err == nil {
			var data []byte
			data, _, err = l.(core.LockedReader).Read(ctx)
			if err == nil && string(data) != "from holder" {
				err = fmt.Errorf("waiter read %q, want the holder's write", data)
			}
			l.Unlock(ctx)
		}
		got <- err
	}()
	time.Sleep(lockWaitSlice + lockWaitSlice/2)
	select {
	case err := <-got:
		t.Fatalf("the waiter returned while the lock was held: %v", err)
	default:
	}
	if err := held.(core.LockedWriter).Write(ctx, []byte("from holder"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// TestWaitersDoNotStarveHolder fills a small pool with waiters for one
// lock: the holder still gets a connection for a call outside its lock
// (as the Manager's Destroy at logout), because waiters hand theirs back
// between wait slices.
func TestWaitersDoNotStarveHolder(t *testing.T) {
	ctx := storetest.Context(t)
	pool := testPool(t, func(cfg *pgxpool.Config) { cfg.MaxConns = 4 })
	s := newStore(t, pool, Options{})
	id := storetest.NewID(t)
	if err := s.Write(ctx, id, []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	held := mustLock(ctx, t, s, id)
	const waiters = 8
	var wg sync.WaitGroup
	for i := 0; i < waiters; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l, err := s.Lock(ctx, id); err == nil {
				l.Unlock(ctx)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // let the waiters take the pool
	if err := s.Destroy(ctx, id); err != nil {
		t.Fatalf("Destroy while waiters crowd the pool: %v", err)
	}
	if err := held.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, found, err := s.Read(ctx, id); err != nil || found {
		t.Fatalf("Read after Destroy: found=%v err=%v", found, err)
	}
}

// TestLockReadBehindTableLock: a Lock whose advisory lock was granted but
// whose read of the record then ran out of its wait slice (the table was
// locked by someone else: a migration's ALTER TABLE, say) must not give
// its connection back to the pool still holding the session's lock — every
// later Lock of the session, from any other connection, would wait until
// that idle connection closed.
func TestLockReadBehindTableLock(t *testing.T) {
	ctx := storetest.Context(t)
	// One connection, whose statements are prepared by a first Lock: the
	// read then waits for the table lock under Lock's lock_timeout.
	pool := testPool(t, func(c *pgxpool.Config) { c.MaxConns = 1 })
	s := newStore(t, pool, Options{})
	_ = s.Close() // Unlock releases before it returns
	id := storetest.NewID(t)
	if err := s.Write(ctx, id, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	others := testPool(t)
	tx, err := others.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE `+s.table+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	// The table lock outlasts Lock's first wait slice (500 ms): its read
	// runs out of time once, after the session lock was granted, and the
	// next slice gets through.
	go func() {
		time.Sleep(700 * time.Millisecond)
		_ = tx.Rollback(context.Background())
	}()
	wait, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if l, err = s.Lock(wait, id); err != nil {
		t.Fatalf("Lock once the table lock went: %v", err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	// From another pool: the session must be free.
	other, err := New(others, Options{Table: s.opts.Table})
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel = context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if l, err = other.Lock(wait, id); err != nil {
		t.Fatalf("Lock after the holder unlocked: %v (its connection still holds the session lock)", err)
	}
	if data, found, err := l.(core.LockedReader).Read(ctx); err != nil || !found || string(data) != "v1" {
		t.Fatalf("Read = %q, %v, %v", data, found, err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}
