package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// Lock polling bounds: a free lock is taken at once; a held one is polled
// from 1 ms, doubling, up to 20 ms.
const (
	minLockBackoff = time.Millisecond
	maxLockBackoff = 20 * time.Millisecond
)

// unlockTimeout bounds Unlock, which runs even when the request's context
// has ended: a lock left behind would block the session until its TTL.
const unlockTimeout = 5 * time.Second

var (
	_ core.LockedReader = (*dbLock)(nil)
	_ core.LockedWriter = (*dbLock)(nil)
)

// Lock takes the session's lock: a row in the lock table holding a random
// token, inserted if absent or taken over if its holder's TTL ran out, in
// one statement — so it works across processes sharing the database file.
// A held lock is polled with backoff until ctx ends; polls read the lock
// row and only try to take it when it looks free, so waiters do not
// compete with the holder for SQLite's write lock.
//
// The lock reads the record (core.LockedReader) and writes it only while
// its row still carries this holder's token and has not expired
// (core.LockedWriter; otherwise core.ErrLockLost), again in one statement.
// GC does not remove a record whose lock row is live.
func (s *Store) Lock(ctx context.Context, id string) (core.Lock, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return nil, err
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("sqlitestore: lock token: %w", err)
	}
	token := hex.EncodeToString(b[:])
	backoff := minLockBackoff
	var timer *time.Timer
	for attempt := 0; ; attempt++ {
		free := true
		if attempt > 0 {
			// Look before trying: the read takes no write lock, so a
			// crowd of waiters does not slow the holder's own writes.
			var expires int64
			err := retry(ctx, func() error { return q.lockExpires.QueryRowContext(ctx, id).Scan(&expires) })
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return nil, fmt.Errorf("sqlitestore: lock: %w", err)
			default:
				free = expires <= nowMS()
			}
		}
		if free {
			now := nowMS()
			n, err := execRetry(ctx, q.lock, id, token, now+s.lockTTL.Milliseconds(), now)
			if err != nil {
				return nil, fmt.Errorf("sqlitestore: lock: %w", err)
			}
			if n == 1 {
				return &dbLock{q: q, id: id, token: token}, nil
			}
		}
		if timer == nil {
			timer = time.NewTimer(backoff)
			defer timer.Stop()
		} else {
			timer.Reset(backoff)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sqlitestore: waiting for the session lock: %w", ctx.Err())
		case <-timer.C:
		}
		if backoff *= 2; backoff > maxLockBackoff {
			backoff = maxLockBackoff
		}
	}
}

// dbLock is a held lock: the token in the lock table's row for id.
type dbLock struct {
	q     *queries
	id    string
	token string

	mu       sync.Mutex
	released bool
}

// Read reads the record the lock protects.
func (l *dbLock) Read(ctx context.Context) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlitestore: %w", err)
	}
	return read(ctx, l.q, l.id)
}

// Write upserts the record if the lock row still carries this holder's
// token and has not expired, else fails with core.ErrLockLost.
func (l *dbLock) Write(ctx context.Context, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	l.mu.Lock()
	released := l.released
	l.mu.Unlock()
	if released {
		return fmt.Errorf("sqlitestore: write after unlock: %w", core.ErrLockLost)
	}
	n, err := execRetry(ctx, l.q.lockedWrite, l.id, blob(data), expiry.UnixMilli(), l.token, nowMS())
	if err != nil {
		return fmt.Errorf("sqlitestore: write: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: the lock expired or was taken over: %w", core.ErrLockLost)
	}
	return nil
}

// Unlock deletes the lock row if it still carries this holder's token, so
// a holder whose lock was taken over cannot release its successor's. It
// runs even when ctx has ended; a second Unlock is a no-op.
func (l *dbLock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	if _, err := execRetry(ctx, l.q.unlock, l.id, l.token); err != nil {
		return fmt.Errorf("sqlitestore: unlock: %w", err)
	}
	l.released = true
	return nil
}
