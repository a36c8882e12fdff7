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
// GC, and the lock table. Run it yourself to create the schema ahead of
// time, in a migration, or to review it. table must be a plain identifier
// ([A-Za-z_][A-Za-z0-9_]*, at most 57 bytes, not starting with sqlite_).
//
// Expiry columns hold Unix milliseconds. data is a BLOB: the session's
// bytes, as the codec made them.
func Schema(table string) (string, error) {
	if err := checkTable(table); err != nil {
		return "", err
	}
	t, l := quote(table), quote(LockTable(table))
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %[1]s (
	id     TEXT    NOT NULL PRIMARY KEY,
	data   BLOB    NOT NULL,
	expiry INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS %[2]s ON %[1]s (expiry);
CREATE TABLE IF NOT EXISTS %[3]s (
	id      TEXT    NOT NULL PRIMARY KEY,
	token   TEXT    NOT NULL,
	expires INTEGER NOT NULL
);
`, t, quote(table+"_expiry"), l), nil
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
