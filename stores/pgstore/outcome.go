package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// A locked write sends its upsert, COMMIT and unlock in one batch. If the
// connection breaks (or the request's context ends) before COMMIT's reply
// arrives, the transaction may have committed or not, and answering 503
// for a write that committed would tell the client "not applied" for a
// change that was made. So the store asks the server.
//
// The lock's batch opened the write transaction and learnt its ID
// (txid_current), so txid_status tells committed from aborted. Two things
// need care:
//
//   - "in progress": the server has not noticed yet that the client went
//     away, or still works on the batch. The store ends that server process
//     (pg_terminate_backend, only if it still runs this very transaction)
//     and asks again; once ended, the transaction cannot commit any more.
//   - A crash loses the transaction IDs whose WAL never reached the disk,
//     and the server hands them out again after recovery: "committed" may
//     then be another transaction's. A crash resets the cumulative
//     statistics, so the statistics' reset time, read with the ID and
//     again now, tells whether one happened in between (an administrator's
//     pg_stat_reset_shared('bgwriter') looks the same and only makes the
//     store more careful).
//
// First of all, the record itself: if it holds exactly the bytes and
// expiry (to the microsecond) this write carried, the write committed. If
// not, "aborted" (or an ID "in the future", lost in a crash) means it did
// not commit; "committed" without a crash in between means it did and a
// later holder has overwritten it since; "committed" across a crash cannot
// be told apart and is reported as unknown.

// defaultSettleTimeout bounds the time a Write spends finding out the
// outcome of a COMMIT whose reply was lost.
const defaultSettleTimeout = 5 * time.Second

// txInfo identifies the transaction a lock opened for its Write.
type txInfo struct {
	xid   int64  // txid_current(): the transaction's 64-bit ID
	epoch string // the statistics' reset time when the ID was handed out
	pid   uint32 // the server process running the transaction
}

// txInfoSQL reads a txInfo's xid and epoch.
const txInfoSQL = `SELECT txid_current(), COALESCE(pg_stat_get_bgwriter_stat_reset_time()::text, '')`

// errUndecidable is an outcome no further question can tell.
var errUndecidable = errors.New("the server crashed since the transaction started and it cannot be told whether this transaction committed")

// errInProgress is the answer to ask again after.
var errInProgress = errors.New("the transaction is still in progress")

// outcome reports whether tx committed its write of data and expiry under
// id. It asks until the server answers or the settle timeout passes, even
// when ctx is cancelled; an error means the outcome is unknown.
func (s *Store) outcome(ctx context.Context, tx txInfo, id string, data []byte, expiry time.Time) (bool, error) {
	var committed bool
	err := s.untilAnswered(ctx, func(ctx context.Context) error {
		var err error
		committed, err = s.askOutcome(ctx, tx, id, data, expiry)
		return err
	})
	return committed, err
}

// askOutcome asks once; see the comment at the top of the file.
func (s *Store) askOutcome(ctx context.Context, tx txInfo, id string, data []byte, expiry time.Time) (bool, error) {
	var (
		status *string
		epoch  string
		holds  bool
	)
	err := s.pool.QueryRow(ctx, `SELECT txid_status($1), COALESCE(pg_stat_get_bgwriter_stat_reset_time()::text, ''),
EXISTS (SELECT 1 FROM `+s.table+` WHERE id = $2 AND data = $3 AND expiry = $4)`,
		tx.xid, id, data, expiry).Scan(&status, &epoch, &holds)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == invalidParameterValue:
		// "transaction ID … is in the future": lost in a crash before
		// anything of it reached the disk.
		return false, nil
	case err != nil:
		return false, err
	case holds:
		return true, nil
	case status == nil:
		return false, errUndecidable // too old to be known: cannot happen within the settle timeout
	}
	switch *status {
	case "aborted":
		return false, nil
	case "committed":
		if epoch != tx.epoch {
			return false, errUndecidable
		}
		return true, nil
	}
	// In progress: end the server process if it still runs this very
	// transaction (a process ID alone may have been reused), then ask
	// again.
	_, err = s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE pid = $1 AND backend_xid = ($2::bigint % 4294967296)::text::xid`, int64(tx.pid), tx.xid)
	if err != nil {
		return false, err
	}
	return false, errInProgress
}

// invalidParameterValue is the SQLSTATE of txid_status for an ID in the
// future.
const invalidParameterValue = "22023"

// holds reports whether id's record holds exactly data and expiry, asking
// until the server answers or the settle timeout passes; false if it never
// does.
func (s *Store) holds(ctx context.Context, id string, data []byte, expiry time.Time) bool {
	var ok bool
	err := s.untilAnswered(ctx, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.table+` WHERE id = $1 AND data = $2 AND expiry = $3)`,
			id, data, expiry).Scan(&ok)
	})
	return err == nil && ok
}

// untilAnswered calls f until it succeeds, fails with errUndecidable, or
// the settle timeout passes (even if ctx is cancelled: finding out must
// outlive the request), with a backoff between calls, and returns f's last
// error.
func (s *Store) untilAnswered(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.settleTimeout)
	defer cancel()
	wait := 10 * time.Millisecond
	for {
		err := f(ctx)
		if err == nil || errors.Is(err, errUndecidable) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}
