package redisstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// A lock attempt or a locked write whose reply is lost — a timeout, a
// broken connection — may have run, may run later (a stalled Redis
// processes the commands it buffered when it resumes, and go-redis resends
// a timed-out command on a new connection), or may never run. The store
// settles such a command: settleScript tells whether it applied and makes
// that final, using the fence key the command carried (see scripts.go).
//
//   - A write is settled before Write returns, since its answer is Write's
//     answer: nil if it applied, its error if not. Write asks until Redis
//     answers or the settle timeout passes.
//   - A lock attempt is settled in the background: the request gets its
//     error at once, and the settling goes on until Redis answers, so the
//     lock is released (or never taken) as soon as Redis is back, however
//     long it stalled — up to LockTTL, after which an attempt Redis still
//     held back behaves like a holder that died: its lock expires LockTTL
//     after Redis took it. A write that got no answer in time, and an
//     Unlock that got none, are finished the same way.

// defaultSettleTimeout bounds settling a locked write (Store.settleTimeout).
const defaultSettleTimeout = 5 * time.Second

// settleCallTimeout bounds one background settling call.
const settleCallTimeout = time.Second

// settleRetryMax is the longest pause between two rounds of background
// settling: once Redis is back, a session blocked by an abandoned attempt
// is free within about this long.
const settleRetryMax = 250 * time.Millisecond

// fenceKey names the key that records the fate of one lock attempt or one
// locked write, named by its nonce: the lock key, a colon and the nonce. It
// starts with the lock key, so it carries the same hash tag (same Cluster
// slot) and the same prefix (DeleteAll finds it).
func fenceKey(lockKey, nonce string) string { return lockKey + ":" + nonce }

// settleJob is a lock attempt or a write to settle, or a lock to release,
// in the background.
type settleJob struct {
	lockKey, token string
	// fence is the attempt's or the write's fence key; "" for a plain
	// release (compare-and-delete), as on a Cluster without hash tags.
	fence string
	until time.Time // give up then: the lock has expired
}

// settler runs the background settling: one goroutine while jobs are
// pending, none otherwise.
type settler struct {
	mu      sync.Mutex
	pending []settleJob
	running bool
}

// settleLater queues j and starts the settling goroutine if it is not
// running.
func (s *Store) settleLater(j settleJob) {
	s.settler.mu.Lock()
	s.settler.pending = append(s.settler.pending, j)
	start := !s.settler.running
	s.settler.running = true
	s.settler.mu.Unlock()
	if start {
		go s.settleLoop()
	}
}

// settleLoop settles the pending jobs in rounds, pausing between rounds
// with a backoff, until none is left. A round stops at the first job
// Redis does not answer: the others would not be answered either.
func (s *Store) settleLoop() {
	wait := 10 * time.Millisecond
	for {
		s.settler.mu.Lock()
		jobs := s.settler.pending
		s.settler.pending = nil
		s.settler.mu.Unlock()
		var left []settleJob
		for i, j := range jobs {
			err := s.settleOne(j)
			if errors.Is(err, redis.ErrClosed) {
				// The application closed its client: nothing can be
				// settled any more, and nothing is waiting for it.
				left = nil
				break
			}
			if err != nil {
				for _, j := range jobs[i:] {
					if time.Now().Before(j.until) {
						left = append(left, j)
					}
				}
				break
			}
		}
		s.settler.mu.Lock()
		s.settler.pending = append(left, s.settler.pending...)
		if len(s.settler.pending) == 0 {
			s.settler.running = false
			s.settler.mu.Unlock()
			return
		}
		s.settler.mu.Unlock()
		time.Sleep(wait)
		wait = min(2*wait, settleRetryMax)
	}
}

// settleOne settles one job: it releases the lock if it holds the
// token and, with a fence key, fences off any copy of the attempt or write
// still on its way.
func (s *Store) settleOne(j settleJob) error {
	ctx, cancel := context.WithTimeout(context.Background(), settleCallTimeout)
	defer cancel()
	if j.fence == "" {
		return releaseScript.Run(ctx, s.client, []string{j.lockKey}, j.token).Err()
	}
	return settleScript.Run(ctx, s.client, []string{j.lockKey, j.fence}, j.token, s.opts.LockTTL.Milliseconds()).Err()
}

// settle asks Redis whether the write fenced by fence applied, and makes
// the answer final (settleScript). It asks again until Redis answers or
// the settle timeout passes, since the answer decides what Write reports.
func (l *lock) settle(ctx context.Context, fence string) (bool, error) {
	var n int
	err := l.s.untilAnswered(ctx, func(ctx context.Context) error {
		var err error
		n, err = settleScript.Run(ctx, l.s.client, []string{l.lockKey, fence}, l.token, l.s.opts.LockTTL.Milliseconds()).Int()
		return err
	})
	return n == 1, err
}

// untilAnswered calls f until it succeeds or the settle timeout passes
// (even if ctx is cancelled: settling must outlive the request), with a
// backoff between calls, and returns f's last error.
func (s *Store) untilAnswered(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.settleTimeout)
	defer cancel()
	wait := 10 * time.Millisecond
	for {
		err := f(ctx)
		if err == nil {
			return nil
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
