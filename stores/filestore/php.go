package filestore

import (
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// PHP returns a Store over the session directory of a PHP application
// whose files save handler runs with session.save_path = savePath and
// session.gc_maxlifetime = gcMaxLifetime, so that Go and PHP read each
// other's sessions, agree on when each one expires and lock each other
// out:
//
//   - savePath, in PHP's "[N;[MODE;]]/path" syntax, gives the directory,
//     its depth and the mode of new files (see ParseSavePath); "" is the
//     system's temporary directory, as in PHP;
//   - gcMaxLifetime becomes Options.MaxLifetime: a session expires
//     gcMaxLifetime after its file's modification time, which is PHP's
//     rule. PHP moves that time to "now" on every request (a write, or a
//     utime() when nothing changed), and so does this store when core
//     writes or touches a session with an expiry of now + IdleTimeout.
//
// Pair it with core.PHPConfig(handler, gcMaxLifetime) — the same
// gc_maxlifetime as the Manager's IdleTimeout — and Config.Locking, so a
// request holds the session file's flock from load to commit as PHP does.
//
// The default Options (MaxLifetime 0) keep the expiry itself as the
// modification time, a layout PHP cannot share: a file PHP wrote (mtime =
// now) would read as expired at once, and a Go session PHP had only
// touched would expire with it. PHP is the one way to open a directory
// PHP uses; for Sync or DirMode, take ParseSavePath's Options, set
// MaxLifetime to gcMaxLifetime and call New.
func PHP(savePath string, gcMaxLifetime time.Duration) (*Store, error) {
	if gcMaxLifetime <= 0 {
		return nil, fmt.Errorf("filestore: %w: gc_maxlifetime must be positive, got %v", core.ErrConfig, gcMaxLifetime)
	}
	dir, opts, err := ParseSavePath(savePath)
	if err != nil {
		return nil, err
	}
	opts.MaxLifetime = gcMaxLifetime
	return New(dir, opts)
}
