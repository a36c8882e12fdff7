package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// testPool returns a pool of the test database, closed with t, after
// applying configure to its config. The database is SESSIONKIT_PG_DSN, set
// by scripts/services.sh; without it the test skips loudly, or fails in CI.
func testPool(t testing.TB, configure ...func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(storetest.RequireEnv(t, "SESSIONKIT_PG_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 32
	for _, f := range configure {
		f(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("postgres not reachable: %v", err)
	}
	return pool
}

// testTable returns a table name no other test uses.
func testTable(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "sktest_" + hex.EncodeToString(b[:])
}

// newStore returns a store on a fresh table that is dropped when t ends.
func newStore(t testing.TB, pool *pgxpool.Pool, opts Options) *Store {
	t.Helper()
	if opts.Table == "" {
		opts.Table = testTable(t)
	}
	s, err := New(pool, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	dropWith(t, pool, opts.Table)
	return s
}

// dropWith drops table when t ends.
func dropWith(t testing.TB, pool *pgxpool.Pool, table string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{table}.Sanitize()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}
