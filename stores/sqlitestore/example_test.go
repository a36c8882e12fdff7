package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

func Example() {
	dir, err := os.MkdirTemp("", "sqlitestore")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	db, err := sqlitestore.Open(filepath.Join(dir, "sessions.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	store, err := sqlitestore.New(db, sqlitestore.Options{})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	id := "Vq3kN8xL2pR7sT1wY5zB9cD4fG6hJ0mQ"
	if err := store.Write(ctx, id, []byte("hello"), time.Now().Add(time.Hour)); err != nil {
		panic(err)
	}
	data, found, err := store.Read(ctx, id)
	fmt.Println(string(data), found, err)
	// Output: hello true <nil>
}

// The DDL the store runs on first use, for review or a migration.
func ExampleSchema() {
	ddl, err := sqlitestore.Schema("sessions")
	if err != nil {
		panic(err)
	}
	fmt.Print(ddl)
	// Output:
	// CREATE TABLE IF NOT EXISTS "sessions" (
	// 	id      TEXT    NOT NULL PRIMARY KEY,
	// 	data    BLOB    NOT NULL,
	// 	expiry  INTEGER NOT NULL,
	// 	user_id TEXT
	// );
	// CREATE INDEX IF NOT EXISTS "sessions_expiry" ON "sessions" (expiry);
	// CREATE TABLE IF NOT EXISTS "sessions_locks" (
	// 	id      TEXT    NOT NULL PRIMARY KEY,
	// 	token   TEXT    NOT NULL,
	// 	expires INTEGER NOT NULL
	// );
	// CREATE INDEX IF NOT EXISTS "sessions_user" ON "sessions" (user_id) WHERE user_id IS NOT NULL;
}
