package pgstore

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// releaser runs the releases of read-only requests' locks in the
// background (lock.Unlock), and Close waits for them.
type releaser struct {
	mu     sync.Mutex
	closed bool // Close was called: release synchronously
	wg     sync.WaitGroup
}

// backgroundRelease marks the context of a background release (tests
// count the round trips a request waits for apart from these).
type backgroundRelease struct{}

// releaseLater releases conn's lock on key in a goroutine and reports
// true, or reports false once the store is closed: the caller then
// releases synchronously. A release that fails drops the connection,
// which ends the lock as well.
func (s *Store) releaseLater(conn *pgxpool.Conn, key string) bool {
	r := &s.releaser
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_ = s.releaseConn(context.WithValue(context.Background(), backgroundRelease{}, true), conn, key)
	}()
	return true
}

// Close waits, at most five seconds, for the lock releases still running
// in the background (the Unlock of a request that only read returns
// before its release lands; see lock.Unlock); Unlock releases
// synchronously from then on. It does not close the pool, which belongs to
// the caller, and the store stays usable. The Manager's Close calls it.
func (s *Store) Close() error {
	r := &s.releaser
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(releaseTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	return nil
}
