package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// A request that only read its session still holds the session's lock when
// it ends, and releasing it is a round trip of its own: with the lock taken
// together with the read (lockScript), that release would be the second
// round trip of every read request. Unlock therefore does not wait for it.
// It queues the release, and one background sender per store sends the
// queued releases as a pipeline — as many as queued up while the previous
// pipeline was on the wire, so under load many requests share one round
// trip, and the response of a read request waits for exactly one.
//
// The lock stays taken about one round trip longer than the request. A Lock
// of the same session by this store in that window does not wait for it:
// it names the pending release's token, and lockScript releases that token
// itself before taking the lock, in the same round trip. A Lock from
// another process waits out the round trip with its usual retry. Close
// sends whatever is still queued and waits for it; a process that exits
// without Close leaves those few locks to expire after LockTTL, as a
// process that crashes mid-request does.

// releaseBatchMax bounds one pipeline of releases.
const releaseBatchMax = 256

// releaser queues lock releases and sends them in the background.
type releaser struct {
	mu      sync.Mutex
	queue   []releaseJob
	pending map[string]string // lock key -> token, queued or on the wire
	running bool              // a sender goroutine is running
	closed  bool              // Close was called: release synchronously
	idle    chan struct{}     // closed when the sender stops; nil while none runs
}

type releaseJob struct{ lockKey, token string }

// senderCtx marks the background sender's commands (for tests and hooks
// that count the round trips a request waits for).
type senderCtx struct{}

// releaseLater queues the release of lockKey held by token and reports
// true, or reports false once the store is closed: the caller then
// releases synchronously.
func (s *Store) releaseLater(lockKey, token string) bool {
	r := &s.releaser
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	if r.pending == nil {
		r.pending = make(map[string]string)
	}
	r.queue = append(r.queue, releaseJob{lockKey, token})
	r.pending[lockKey] = token
	if !r.running {
		r.running = true
		r.idle = make(chan struct{})
		go s.sendReleases(r.idle)
	}
	return true
}

// pendingRelease returns the token of a release of lockKey that this store
// has queued or sent without an answer yet, or "".
func (s *Store) pendingRelease(lockKey string) string {
	r := &s.releaser
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending[lockKey]
}

// sendReleases sends queued releases until none is left, then closes idle.
func (s *Store) sendReleases(idle chan struct{}) {
	r := &s.releaser
	ctx := context.WithValue(context.Background(), senderCtx{}, true)
	for {
		r.mu.Lock()
		n := min(len(r.queue), releaseBatchMax)
		if n == 0 {
			r.running = false
			r.idle = nil
			r.mu.Unlock()
			close(idle)
			return
		}
		batch := make([]releaseJob, n)
		copy(batch, r.queue)
		r.queue = append(r.queue[:0], r.queue[n:]...)
		r.mu.Unlock()

		failed := s.sendBatch(ctx, batch)

		r.mu.Lock()
		for _, j := range batch {
			if r.pending[j.lockKey] == j.token {
				delete(r.pending, j.lockKey)
			}
		}
		r.mu.Unlock()
		for _, j := range failed {
			// The TTL frees it otherwise; the settler keeps trying until
			// then, as for an Unlock that got no answer.
			s.settleLater(settleJob{lockKey: j.lockKey, token: j.token, until: time.Now().Add(s.opts.LockTTL)})
		}
	}
}

// sendBatch sends batch's releases in one pipeline and returns those that
// got no answer. A server without the script cached (a fresh server, a
// replica just promoted) answers NOSCRIPT; the script is then loaded and
// those releases are sent once more.
func (s *Store) sendBatch(ctx context.Context, batch []releaseJob) []releaseJob {
	ctx, cancel := context.WithTimeout(ctx, unlockTimeout)
	defer cancel()
	failed, noScript := s.sendPipeline(ctx, batch)
	if len(noScript) == 0 {
		return failed
	}
	if err := releaseScript.Load(ctx, s.client).Err(); err != nil {
		return append(failed, noScript...)
	}
	again, stillNoScript := s.sendPipeline(ctx, noScript)
	return append(append(failed, again...), stillNoScript...)
}

// sendPipeline sends one pipeline of releases and sorts out those that
// failed and those the server did not have the script for.
func (s *Store) sendPipeline(ctx context.Context, batch []releaseJob) (failed, noScript []releaseJob) {
	cmds := make([]*redis.Cmd, len(batch))
	_, perr := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, j := range batch {
			cmds[i] = releaseScript.EvalSha(ctx, p, []string{j.lockKey}, j.token)
		}
		return nil
	})
	for i, c := range cmds {
		err := c.Err()
		if err == nil && c.Val() == nil {
			// go-redis leaves the commands of a pipeline it could not
			// send (no connection: refused, pool timeout, LOADING) without
			// an error of their own; the pipeline's error is theirs.
			err = perr
			if err == nil {
				err = errors.New("no reply")
			}
		}
		switch {
		case err == nil || errors.Is(err, redis.Nil):
		case strings.HasPrefix(err.Error(), "NOSCRIPT"):
			noScript = append(noScript, batch[i])
		default:
			failed = append(failed, batch[i])
		}
	}
	return failed, noScript
}

// closeReleaser makes later releases synchronous and waits, at most
// unlockTimeout, until the queued ones are sent.
func (s *Store) closeReleaser() {
	r := &s.releaser
	r.mu.Lock()
	r.closed = true
	idle := r.idle
	r.mu.Unlock()
	if idle == nil {
		return
	}
	t := time.NewTimer(unlockTimeout)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}
