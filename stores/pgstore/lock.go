package pgstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/core"
)

// errLockLost is what a locked write returns when its lock is gone.
var errLockLost = fmt.Errorf("pgstore: %w", core.ErrLockLost)

// releaseTimeout bounds releasing a lock, which runs even on a cancelled
// context.
const releaseTimeout = 5 * time.Second

// lockWaitSlice bounds one server-side wait for a busy lock. Between
// slices the waiter gives its connection back to the pool, so a waiting
// crowd cannot starve a lock holder that needs a second connection, and a
// waiter whose client went away is dropped by the server within a slice.
const lockWaitSlice = 500 * time.Millisecond

// Lock takes id's session lock: a session-level advisory lock
// (pg_advisory_lock) on a key hashed from the table and the id, held on a
// pool connection of its own until the lock is released. Collisions of the
// 64-bit key only serialise two sessions more than needed.
//
// A busy lock is waited for inside PostgreSQL, which hands it to the next
// waiter the moment it is released, in slices of at most half a second
// (lock_timeout), until ctx is done (an error wrapping ctx.Err()). The wait
// and the read of the session's data travel in one round trip (a pipelined
// batch; the read is its own statement, so it sees everything committed
// before the lock was granted). The same batch opens the transaction the
// lock's Write will commit and learns its transaction ID, which lets a
// Write whose COMMIT reply is lost find out whether it committed. The
// returned lock serves that data from its first Read (core.LockedReader).
// Its Write (core.LockedWriter) commits the data and then releases the
// lock, again in one round trip, so a locked read-modify-write costs two;
// the Unlock that follows is free.
//
// A holder that dies loses the lock with its connection, at once. A holder
// that keeps it past Options.LockTTL loses it then: the lock is released
// and the holder's Write fails with core.ErrLockLost.
func (s *Store) Lock(ctx context.Context, id string) (core.Lock, error) {
	if err := s.begin(ctx); err != nil {
		return nil, wrap("lock", err)
	}
	l := &lock{s: s, id: id, key: s.lockNS + id}
	for {
		ok, err := l.try(ctx)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
				return nil, fmt.Errorf("pgstore: lock: %w (%w)", ctxErr, err)
			}
			return nil, wrap("lock", err)
		}
		if ok {
			l.mu.Lock() // expire reads l.timer
			l.timer = time.AfterFunc(s.opts.LockTTL, l.expire)
			l.mu.Unlock()
			return l, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, wrap("lock", err)
		}
	}
}

// lock is a held session lock. It implements core.LockedReader and
// core.LockedWriter.
type lock struct {
	s       *Store
	id, key string // key is what the advisory lock key is hashed from

	mu    sync.Mutex
	conn  *pgxpool.Conn // holds the advisory lock; nil once released
	timer *time.Timer   // releases the lock after LockTTL
	// tx identifies the transaction conn has open for Write (see
	// outcome.go).
	tx         txInfo
	prefetched bool // data and found hold the record read with the lock
	data       []byte
	found      bool
	released   bool     // by Write, Unlock or the TTL
	lost       bool     // released by the TTL
	written    [32]byte // SHA-256 of what this holder last wrote
	wrote      bool
}

// lockSQL waits for the lock, unlockSQL releases it; both hash the key
// the same way GC does.
const (
	lockSQL   = `SELECT pg_advisory_lock(hashtextextended($1, 0))`
	unlockSQL = `SELECT pg_advisory_unlock(hashtextextended($1, 0))`
)

// try waits one slice for the lock and reads the data once it is granted,
// then opens the transaction for the lock's Write, all in one batch. It
// reports false when the slice ran out.
func (l *lock) try(ctx context.Context) (bool, error) {
	conn, err := l.s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	wait := lockWaitSlice
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, max(time.Until(dl), time.Millisecond))
	}
	var (
		data  []byte
		found bool
		tx    txInfo
	)
	b := &pgx.Batch{}
	// SET LOCAL: the timeout ends with the transaction; the session-level
	// advisory lock does not.
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	b.Queue(`SELECT set_config('lock_timeout', $1, true)`, strconv.FormatInt(wait.Milliseconds(), 10))
	b.Queue(lockSQL, l.key)
	b.Queue(`SELECT data FROM `+l.s.table+` WHERE id = $1 AND expiry > $2`, l.id, time.Now()).
		QueryRow(func(row pgx.Row) error {
			var err error
			data, found, err = scanData(row)
			return err
		})
	b.Queue(`COMMIT`)
	// The write transaction: no table touched yet, so it holds no table
	// lock while the request works, only its ID.
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	b.Queue(txInfoSQL).QueryRow(func(row pgx.Row) error { return row.Scan(&tx.xid, &tx.epoch) })
	err = conn.SendBatch(ctx, b).Close()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == lockNotAvailable {
		// The slice ran out: end the failed transaction and let the
		// connection go back to the pool before the next slice. The wait
		// that ran out may have been the read's, behind a table lock,
		// after the session lock was granted — a session-level lock
		// outlives the rollback — so unlock too (a lock not held answers
		// false): a pooled connection must never keep a session locked.
		// Two round trips: the unlock may need preparing, which the
		// aborted transaction would refuse.
		if _, err := conn.Exec(ctx, `ROLLBACK`); err != nil {
			discard(conn)
			return false, err
		}
		if _, err := conn.Exec(ctx, unlockSQL, l.key); err != nil {
			discard(conn)
			return false, err
		}
		conn.Release()
		return false, nil
	}
	if err != nil {
		// The lock may have been granted before the failure: dropping the
		// connection is the sure way to release it.
		discard(conn)
		return false, err
	}
	tx.pid = conn.Conn().PgConn().PID()
	l.conn, l.tx, l.data, l.found, l.prefetched = conn, tx, data, found, true
	return true, nil
}

// lockNotAvailable is the SQLSTATE of a lock_timeout.
const lockNotAvailable = "55P03"

// discard closes a pool connection (the server then drops its advisory
// locks) and gives it back to the pool, which forgets it.
func discard(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	_ = conn.Conn().Close(ctx)
	conn.Release()
}

// release ends the write transaction, unlocks and returns the connection;
// the caller holds l.mu. If that fails the connection is dropped, which
// ends both too.
func (l *lock) release(ctx context.Context) error {
	conn := l.detach()
	if conn == nil {
		return nil
	}
	return l.s.releaseConn(ctx, conn, l.key)
}

// detach marks the lock released and returns the connection that holds
// it, or nil if it was released before; the caller holds l.mu.
func (l *lock) detach() *pgxpool.Conn {
	if l.released {
		return nil
	}
	l.released = true
	l.timer.Stop()
	conn := l.conn
	l.conn = nil
	return conn
}

// releaseConn ends conn's write transaction, unlocks key and gives conn
// back to the pool, in one round trip; if that fails conn is dropped,
// which ends both too.
func (s *Store) releaseConn(ctx context.Context, conn *pgxpool.Conn, key string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue(`ROLLBACK`)
	b.Queue(unlockSQL, key)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		discard(conn)
		return err
	}
	conn.Release()
	return nil
}

// expire runs when LockTTL has passed: the lock goes, and so does the
// holder's right to write.
func (l *lock) expire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return
	}
	l.lost = true
	_ = l.release(context.Background())
}

// Read returns the record the lock protects. The first call serves the data
// read together with the lock, at no round trip; later calls query again.
func (l *lock) Read(ctx context.Context) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrap("read", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.prefetched {
		data, found := l.data, l.found
		l.prefetched, l.data = false, nil
		return data, found, nil
	}
	if l.conn != nil {
		data, found, err := l.s.read(ctx, l.conn, l.id)
		return data, found, wrap("read", err)
	}
	return l.s.Read(ctx, l.id)
}

// Write stores data under the locked id until expiry, only while this
// holder still owns the lock (otherwise an error wrapping core.ErrLockLost,
// nothing written), and releases the lock right after the data is
// committed, in the same round trip. A later Write by the same holder is
// still accepted as long as nobody holds the lock and the record is still
// what this holder wrote.
//
// Its outcome is never ambiguous: nil means the data was committed, an
// error means it was not and will not be. When the connection breaks
// before COMMIT's reply arrives, Write asks the server whether the
// transaction committed (outcome.go) before it answers; only if that
// cannot be told does it return an error that says the outcome is unknown.
func (l *lock) Write(ctx context.Context, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap("write", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prefetched, l.data = false, nil
	switch {
	case l.conn != nil:
		return l.writeAndRelease(ctx, data, expiry)
	case l.wrote && !l.lost:
		return l.writeAgain(ctx, data, expiry)
	}
	return errLockLost
}

// writeAndRelease commits the data in the transaction Lock opened and then
// unlocks: the COMMIT comes first, so the next holder reads this write.
func (l *lock) writeAndRelease(ctx context.Context, data []byte, expiry time.Time) error {
	data = nonNil(data)
	b := &pgx.Batch{}
	b.Queue(l.s.upsertSQL(), l.id, data, expiry)
	b.Queue(`COMMIT`)
	b.Queue(unlockSQL, l.key)
	br := l.conn.SendBatch(ctx, b)
	_, upsertErr := br.Exec()
	_, commitErr := br.Exec()
	_, unlockErr := br.Exec()
	closeErr := br.Close()
	err := upsertErr
	if err == nil {
		err = commitErr
	}
	var pgErr *pgconn.PgError
	if err != nil && errors.As(err, &pgErr) && !l.conn.Conn().IsClosed() {
		// The server refused a statement and said so: nothing committed,
		// and the connection still works (the server skipped the rest of
		// the batch). End the transaction and release the lock.
		_ = l.release(ctx)
		return wrap("write", err)
	}
	conn := l.conn
	l.conn, l.released = nil, true
	l.timer.Stop()
	if err == nil && unlockErr == nil && closeErr == nil {
		conn.Release()
	} else {
		// A connection that failed somewhere: dropping it releases the
		// lock if the unlock did not.
		discard(conn)
	}
	if err != nil {
		// The connection broke or ctx ended before COMMIT's reply came:
		// whether it committed is for the server to say.
		committed, rerr := l.s.outcome(ctx, l.tx, l.id, data, expiry)
		if rerr != nil {
			return fmt.Errorf("pgstore: write: outcome unknown, %w: %w", rerr, err)
		}
		if !committed {
			return wrap("write", err)
		}
	}
	l.written, l.wrote = sha256.Sum256(data), true
	return nil
}

// writeAgain is a further Write after writeAndRelease gave the lock back:
// it succeeds only if nobody holds the lock now (the transaction-level
// advisory lock is free) and the record still holds this holder's last
// write, so nobody finished a read-modify-write in between.
func (l *lock) writeAgain(ctx context.Context, data []byte, expiry time.Time) error {
	tag, err := l.s.pool.Exec(ctx, `UPDATE `+l.s.table+` SET data = $2, expiry = $3
WHERE id = $1 AND sha256(data) = $4 AND pg_try_advisory_xact_lock(hashtextextended($5, 0))`,
		l.id, nonNil(data), expiry, l.written[:], l.key)
	if err != nil {
		// A single statement: if its reply was lost, the record tells
		// whether it landed. Best effort — see the package documentation.
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) || !l.s.holds(ctx, l.id, nonNil(data), expiry) {
			return wrap("write", err)
		}
	} else if tag.RowsAffected() != 1 {
		return errLockLost
	}
	l.written = sha256.Sum256(data)
	return nil
}

// Unlock releases the lock and gives its connection back to the pool;
// after a Write it has nothing left to do. Releasing a lost or released lock
// is not an error. The lock of a request that only read is released in
// the background and Unlock returns at once, so the response waits for one
// round trip (the lock and the read), not two; a Lock of the same session
// meanwhile waits inside PostgreSQL, which grants it the moment the
// release lands. After Store.Close, Unlock releases before it returns,
// even when ctx is already cancelled — a request that ended early must
// not keep its session locked — bounded to five seconds.
func (l *lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	conn := l.detach()
	if conn == nil {
		return nil
	}
	if l.s.releaseLater(conn, l.key) {
		return nil
	}
	return wrap("unlock", l.s.releaseConn(ctx, conn, l.key))
}
