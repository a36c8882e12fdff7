package sqlitestore

import (
	"fmt"
	"strings"
)

// DefaultTable is the session table's name when Options.Table is empty.
const DefaultTable = "sessions"

// LockTable is the name of the lock table that goes with a session table.
func LockTable(table string) string { return table + "_locks" }

// Schema returns the DDL the store runs (idempotently) on first use, for a
// session table named table: the sessions, an index on their expiry for
// GC, a partial index on the users they are bound to, and the lock table.
// Run it yourself to create the schema ahead of time, in a migration, or
// to review it. table must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*,
// at most 57 bytes, not starting with sqlite_).
//
// Expiry columns hold Unix milliseconds. data is a BLOB: the session's
// bytes, as the codec made them. user_id is the user the session is bound
// to (core.UserIndex), NULL for most sessions. A session table made before
// the user index lacks that column: the store adds it on first use; to do
// it in a migration, run UserColumnDDL(table) before this DDL.
func Schema(table string) (string, error) {
	if err := checkTable(table); err != nil {
		return "", err
	}
	return tableDDL(table) + userIndexDDL(table), nil
}

// UserColumnDDL returns the statement that adds the user_id column to a
// session table made before the user index. SQLite has no ADD COLUMN IF
// NOT EXISTS: run it once, on such a table only (the store does it itself
// on first use when the column is missing).
func UserColumnDDL(table string) (string, error) {
	if err := checkTable(table); err != nil {
		return "", err
	}
	return `ALTER TABLE ` + quote(table) + ` ADD COLUMN user_id TEXT;
`, nil
}

// tableDDL creates the tables and the expiry index.
func tableDDL(table string) string {
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %[1]s (
	id      TEXT    NOT NULL PRIMARY KEY,
	data    BLOB    NOT NULL,
	expiry  INTEGER NOT NULL,
	user_id TEXT
);
CREATE INDEX IF NOT EXISTS %[2]s ON %[1]s (expiry);
CREATE TABLE IF NOT EXISTS %[3]s (
	id      TEXT    NOT NULL PRIMARY KEY,
	token   TEXT    NOT NULL,
	expires INTEGER NOT NULL
);
`, quote(table), quote(table+"_expiry"), quote(LockTable(table)))
}

// userIndexDDL creates the index of bound sessions: only their rows are in
// it, so it stays small and costs unbound sessions nothing.
func userIndexDDL(table string) string {
	return fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %[2]s ON %[1]s (user_id) WHERE user_id IS NOT NULL;
`, quote(table), quote(table+"_user"))
}

// maxTableLen keeps the derived names (table_locks, table_expiry) within
// 64 bytes.
const maxTableLen = 57

// checkTable reports whether table is a plain identifier that may be
// interpolated into SQL: IDs never are, they are always bound.
func checkTable(table string) error {
	if table == "" || len(table) > maxTableLen {
		return fmt.Errorf("sqlitestore: table name must have 1 to %d bytes", maxTableLen)
	}
	for i := 0; i < len(table); i++ {
		c := table[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return fmt.Errorf("sqlitestore: table name %q is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)", table)
		}
	}
	if strings.HasPrefix(strings.ToLower(table), "sqlite_") {
		return fmt.Errorf("sqlitestore: table name %q is reserved by SQLite", table)
	}
	return nil
}

// quote makes an identifier checked by checkTable a quoted SQL identifier.
func quote(ident string) string { return `"` + ident + `"` }
