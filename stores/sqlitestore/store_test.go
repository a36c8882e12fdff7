package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// openDB opens a fresh WAL database file in t's temp dir.
func openDB(t testing.TB) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func newStore(t testing.TB, db *sql.DB, opts sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	const ttl = 300 * time.Millisecond
	storetest.Run(t, func(t *testing.T) core.Store {
		db, _ := openDB(t)
		return newStore(t, db, sqlitestore.Options{LockTTL: ttl})
	}, storetest.LockTTL(ttl))
}

func TestSchema(t *testing.T) {
	tests := []struct {
		table string
		ok    bool
	}{
		{"sessions", true},
		{"_app_sessions2", true},
		{"S", true},
		{"", false},
		{"2sessions", false},
		{"sessions; DROP TABLE x", false},
		{`sessions"`, false},
		{"sess-ions", false},
		{"sqlite_master", false},
		{"séssions", false},
		{strings.Repeat("a", 58), false},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			ddl, err := sqlitestore.Schema(tt.table)
			if (err == nil) != tt.ok {
				t.Fatalf("Schema(%q) err = %v, want ok=%v", tt.table, err, tt.ok)
			}
			db, _ := openDB(t)
			_, err = sqlitestore.New(db, sqlitestore.Options{Table: tt.table})
			if tt.table == "" {
				return // the default table
			}
			if (err == nil) != tt.ok {
				t.Fatalf("New(Table %q) err = %v, want ok=%v", tt.table, err, tt.ok)
			}
			if !tt.ok {
				if !errors.Is(err, core.ErrConfig) {
					t.Fatalf("New(Table %q) err = %v, want core.ErrConfig", tt.table, err)
				}
				return
			}
			if _, err := db.Exec(ddl); err != nil {
				t.Fatalf("the DDL does not run: %v", err)
			}
			if _, err := db.Exec(ddl); err != nil {
				t.Fatalf("the DDL is not idempotent: %v", err)
			}
		})
	}
}

// TestCustomTable checks that two stores with different tables share a
// database without seeing each other's sessions.
func TestCustomTable(t *testing.T) {
	db, _ := openDB(t)
	a := newStore(t, db, sqlitestore.Options{Table: "app_a"})
	b := newStore(t, db, sqlitestore.Options{Table: "app_b"})
	ctx := context.Background()
	id := "SharedIdAcrossTables0"
	if err := a.Write(ctx, id, []byte("a"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, found, err := b.Read(ctx, id); err != nil || found {
		t.Fatalf("table app_b sees app_a's session: %v, %v", found, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM app_a`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("app_a has %d rows, %v", n, err)
	}
}

// TestOpenSettings checks the pragmas Open sets on every connection.
func TestOpenSettings(t *testing.T) {
	db, _ := openDB(t)
	db.SetMaxOpenConns(3)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var mode string
		var busy int
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q, %v", mode, err)
		}
		if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy != 5000 {
			t.Fatalf("busy_timeout = %d, %v", busy, err)
		}
	}
	// A path with characters that mean something in a URI.
	odd := filepath.Join(t.TempDir(), "a?b#c%d.db")
	db2, err := sqlitestore.Open(odd)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	s := newStore(t, db2, sqlitestore.Options{})
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := filepath.Glob(odd); err != nil {
		t.Fatal(err)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(odd), "a?b#c%d.db")); len(matches) != 1 {
		t.Fatalf("the database file is not at the path given: %v", matches)
	}
}

// TestConcurrentWriters runs 50 writers at once, each on its own
// connection to one database file, for 20 writes each: none may fail, in
// particular not with "database is locked".
func TestConcurrentWriters(t *testing.T) {
	tests := []struct {
		name string
		db   func(t *testing.T) *sql.DB
	}{
		{"Open", func(t *testing.T) *sql.DB { db, _ := openDB(t); return db }},
		// A caller's *sql.DB without busy_timeout: only the store's own
		// retry keeps the writers from failing.
		{"NoBusyTimeout", func(t *testing.T) *sql.DB {
			path := filepath.Join(t.TempDir(), "plain.db")
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := tt.db(t)
			const writers, writes = 50, 20
			db.SetMaxOpenConns(writers)
			s := newStore(t, db, sqlitestore.Options{})
			ctx := context.Background()
			if err := s.Open(ctx); err != nil {
				t.Fatal(err)
			}
			expiry := time.Now().Add(time.Hour)
			errs := make(chan error, writers)
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; i < writes; i++ {
						id := fmt.Sprintf("writer%02dsession%04d", w, i%5)
						var err error
						switch i % 4 {
						case 0, 1:
							err = s.Write(ctx, id, []byte(fmt.Sprintf("w%d i%d", w, i)), expiry)
						case 2:
							_, err = s.Swap(ctx, id, nil, []byte("created"), expiry)
						case 3:
							err = s.Touch(ctx, id, expiry.Add(time.Minute))
						}
						if err != nil {
							errs <- fmt.Errorf("writer %d, write %d: %w", w, i, err)
							return
						}
					}
				}(w)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != writers*5 {
				t.Fatalf("%d rows, %v; want %d", n, err, writers*5)
			}
		})
	}
}

// TestTwoHandlesOneLock opens the database file twice, as two processes
// would, and has both increment one counter under the lock: no increment
// is lost, and a holder on one handle keeps the other out.
func TestTwoHandlesOneLock(t *testing.T) {
	db1, path := openDB(t)
	db2, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	s1 := newStore(t, db1, sqlitestore.Options{})
	s2 := newStore(t, db2, sqlitestore.Options{})
	ctx := context.Background()
	id := "CounterOnTwoHandles00"
	if err := s1.Write(ctx, id, []byte("0"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	// Exclusion across handles.
	held, err := s1.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = s2.Lock(tctx, id)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock on the second handle while the first holds it: %v, want DeadlineExceeded", err)
	}
	if err := held.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	const goroutines, incs = 10, 20
	errs := make(chan error, 2*goroutines)
	var wg sync.WaitGroup
	for g := 0; g < 2*goroutines; g++ {
		s := s1
		if g%2 == 1 {
			s = s2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < incs; i++ {
				if err := increment(ctx, s, id); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	data, _, err := s2.Read(ctx, id)
	if err != nil || string(data) != fmt.Sprint(2*goroutines*incs) {
		t.Fatalf("counter = %q, %v; want %d", data, err, 2*goroutines*incs)
	}
}

func increment(ctx context.Context, s *sqlitestore.Store, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := s.Lock(ctx, id)
	if err != nil {
		return err
	}
	defer l.Unlock(ctx)
	data, found, err := l.(core.LockedReader).Read(ctx)
	if err != nil || !found {
		return fmt.Errorf("read: %v, found=%v", err, found)
	}
	var n int
	fmt.Sscan(string(data), &n)
	return l.(core.LockedWriter).Write(ctx, []byte(fmt.Sprint(n+1)), time.Now().Add(time.Hour))
}

// TestGCKeepsLockedAcrossHandles: GC through one handle does not remove a
// record locked through the other.
func TestGCKeepsLockedAcrossHandles(t *testing.T) {
	db1, path := openDB(t)
	db2, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	s1 := newStore(t, db1, sqlitestore.Options{})
	s2 := newStore(t, db2, sqlitestore.Options{})
	ctx := context.Background()
	past := time.Now().Add(-time.Minute)
	for _, id := range []string{"LockedExpired0000000", "FreeExpired000000000"} {
		if err := s1.Write(ctx, id, []byte("x"), past); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s1.Lock(ctx, "LockedExpired0000000")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s2.GC(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("GC = %d, %v; want 1", n, err)
	}
	l.Unlock(ctx)
	if n, err := s2.GC(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("GC after unlock = %d, %v; want 1", n, err)
	}
}

// TestClosedStore: the store is unusable after Close, the *sql.DB is not.
func TestClosedStore(t *testing.T) {
	db, _ := openDB(t)
	s := newStore(t, db, sqlitestore.Options{})
	ctx := context.Background()
	if err := s.Write(ctx, "BeforeClose000000000", []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Read(ctx, "BeforeClose000000000"); err == nil {
		t.Fatal("Read after Close succeeded")
	}
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("Close closed the caller's *sql.DB: %v", err)
	}
}
