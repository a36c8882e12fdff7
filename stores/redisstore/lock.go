package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
)

// errLockLost is what a locked write returns when its lock is gone.
var errLockLost = fmt.Errorf("redisstore: %w", core.ErrLockLost)

// unlockTimeout bounds Unlock, which runs even on a cancelled context.
const unlockTimeout = 5 * time.Second

// Lock takes id's session lock: SET <key><LockSuffix> <token> NX PX LockTTL,
// with a random token per holder, retried with jittered exponential backoff
// until the lock is free or ctx is done (an error wrapping ctx.Err()).
//
// In the same script it reads the session's data, which the returned
// lock serves from its first Read (core.LockedReader): taking the lock
// costs no extra round trip. Its Write (core.LockedWriter) writes only while the token is
// still in the lock key and releases the lock in the same script, so a
// locked read-modify-write costs two round trips in all; the Unlock that
// follows is then free.
//
// A holder that dies leaves its lock to expire after LockTTL. A holder that
// outlives LockTTL loses the lock to the next request and its write is
// refused with core.ErrLockLost. The lock is never extended (phpredis does
// not extend it either).
//
// Every attempt of one Lock call sends the same token, and an attempt that
// finds its own token in the lock has taken it: a retry by go-redis after a
// lost reply counts as success. An attempt that fails with an error may
// still have taken the lock, now or later; Lock returns the error at once
// and the store settles the attempt in the background (settle.go): the
// lock is released if the attempt took it, and a copy of the attempt that
// Redis has not run yet will not take it.
func (s *Store) Lock(ctx context.Context, id string) (core.Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("lock", err)
	}
	token, err := newToken()
	if err != nil {
		return nil, wrap("lock", err)
	}
	l := &lock{s: s, id: id, key: s.key(id), lockKey: s.lockKey(id), token: token}
	wait := s.opts.LockRetry
	for {
		ok, err := l.try(ctx)
		if err != nil {
			l.abandon()
			if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
				return nil, fmt.Errorf("redisstore: lock: %w (%w)", ctxErr, err)
			}
			return nil, wrap("lock", err)
		}
		if ok {
			return l, nil
		}
		// Jitter in [wait/2, wait] keeps waiters from polling in step.
		d := wait/2 + mathrand.N(wait/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, wrap("lock", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, s.opts.LockRetryMax)
	}
}

// newToken returns 128 random bits in hex: the lock's holder identity.
func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// lock is a held session lock. It implements core.LockedReader and
// core.LockedWriter.
type lock struct {
	s                *Store
	id, key, lockKey string
	token            string

	mu         sync.Mutex
	prefetched bool   // data and found hold the record read with the lock
	data       []byte // handed to the first Read, then dropped
	found      bool
	released   bool   // the lock was released by Write or Unlock
	written    string // SHA-1 hex of the bytes this holder last wrote
}

// try makes one attempt at the lock and, when it succeeds, reads the data.
func (l *lock) try(ctx context.Context) (bool, error) {
	if l.s.oneKeyspace {
		keys := []string{l.lockKey, l.key, fenceKey(l.lockKey, l.token)}
		res, err := lockScript.Run(ctx, l.s.client, keys, l.token, l.s.opts.LockTTL.Milliseconds(), l.s.pendingRelease(l.lockKey)).Slice()
		if err != nil {
			return false, err
		}
		if len(res) == 0 {
			return false, errors.New("redisstore: unexpected reply to the lock script")
		}
		if n, _ := res[0].(int64); n != 1 {
			return false, nil
		}
		if len(res) > 1 && res[1] != nil {
			str, ok := res[1].(string)
			if !ok {
				return false, fmt.Errorf("redisstore: unexpected %T in the lock script's reply", res[1])
			}
			l.data, l.found = []byte(str), true
		}
		l.prefetched = true
		return true, nil
	}
	// Cluster without hash tags: the two keys live in different slots, so
	// lock first, then read.
	n, err := lockOnlyScript.Run(ctx, l.s.client, []string{l.lockKey}, l.token, l.s.opts.LockTTL.Milliseconds(), l.s.pendingRelease(l.lockKey)).Int()
	if err != nil || n != 1 {
		return false, err
	}
	data, err := l.s.client.Get(ctx, l.key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		l.prefetched = true
		return true, nil
	case err != nil:
		return false, err
	}
	l.data, l.found, l.prefetched = data, true, true
	return true, nil
}

// abandon gives up an attempt that failed with an error, which leaves in
// doubt whether it took the lock (now, or later: a stalled Redis processes
// the commands it buffered when it resumes). The store settles it in the
// background (settle.go), so the request's error is not held up by a
// Redis that does not answer.
func (l *lock) abandon() {
	j := settleJob{lockKey: l.lockKey, token: l.token, until: time.Now().Add(l.s.opts.LockTTL)}
	if l.s.oneKeyspace {
		j.fence = fenceKey(l.lockKey, l.token)
	}
	l.s.settleLater(j)
}

// Read returns the record the lock protects. The first call serves the
// data read together with the lock, at no round trip; later calls read
// Redis again.
func (l *lock) Read(ctx context.Context) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrap("read", err)
	}
	l.mu.Lock()
	if l.prefetched {
		data, found := l.data, l.found
		l.prefetched, l.data = false, nil
		l.mu.Unlock()
		return data, found, nil
	}
	l.mu.Unlock()
	return l.s.Read(ctx, l.id)
}

// Write stores data under the locked id until expiry, only while this
// holder still owns the lock (otherwise an error wrapping
// core.ErrLockLost, nothing written), and releases the lock in the same
// script. A later Write by the same holder is still accepted as long as
// nobody took the lock and the record is still what this holder wrote.
//
// Its outcome is never ambiguous: nil means the data was written, an error
// means it was not and will not be. When the script's reply is lost, Write
// asks Redis which it was (settle) before it answers; only if Redis stays
// unreachable through that question too does it return an error that says
// the outcome is unknown.
func (l *lock) Write(ctx context.Context, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap("write", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released && l.written == "" {
		// Unlocked, or given up, before this holder wrote anything: the
		// lock may still hold its token while a queued release is on its
		// way, but it is no longer this holder's.
		return errLockLost
	}
	ms := ttl(expiry)
	sum := ""
	if ms > 0 {
		h := sha1.Sum(data)
		sum = hex.EncodeToString(h[:])
	}
	if l.s.oneKeyspace {
		applied, err := l.writeScripted(ctx, data, ms)
		if applied {
			// Applied on the master, though an error follows (with
			// WaitReplicas: too few replicas acknowledged it). A later
			// Write of this holder — putting back what it read, say — is
			// still to be accepted while the record holds these bytes.
			l.released, l.written = true, sum
		}
		if err != nil {
			return err
		}
	} else if err := l.writeSplit(ctx, data, ms); err != nil {
		return err
	}
	l.released, l.written = true, sum
	l.prefetched, l.data = false, nil
	return nil
}

// writeScripted runs writeScript under a fence key of its own and settles
// its outcome if the reply is lost.
func (l *lock) writeScripted(ctx context.Context, data []byte, ms int64) (applied bool, err error) {
	nonce, err := newToken()
	if err != nil {
		return false, wrap("write", err)
	}
	fence := fenceKey(l.lockKey, nonce)
	keys := []string{l.lockKey, l.key, fence}
	fenceTTL := l.s.opts.LockTTL.Milliseconds()
	args := []any{l.token, data, ms, l.written, fenceTTL}
	var n int
	if l.s.opts.WaitReplicas > 0 {
		var cmd redis.Cmder
		cmd, err = l.s.replicated(ctx, writeScript, func(p redis.Pipeliner) redis.Cmder {
			return writeScript.EvalSha(ctx, p, keys, args...)
		})
		if err == nil || errors.Is(err, errNotReplicated) {
			n, _ = cmd.(*redis.Cmd).Int()
		}
		if errors.Is(err, errNotReplicated) {
			if n != 1 {
				return false, errLockLost // nothing was written
			}
			l.released = true // the script released the lock
			return true, wrap("write", err)
		}
	} else {
		n, err = writeScript.Run(ctx, l.s.client, keys, args...).Int()
	}
	if err != nil {
		// Whatever failed — the connection, a timeout, a retry that got an
		// error after an earlier try had run — the script may have run.
		applied, serr := l.settle(ctx, fence)
		switch {
		case serr != nil:
			// Settle it in the background once Redis answers, so that it
			// cannot apply at some later time and its lock is released.
			l.s.settleLater(settleJob{lockKey: l.lockKey, token: l.token, fence: fence, until: time.Now().Add(l.s.opts.LockTTL)})
			l.released = true
			return false, fmt.Errorf("redisstore: write: outcome unknown, Redis did not answer whether it applied (%w): %w", serr, err)
		case !applied:
			l.released = true // settleScript released the lock
			return false, wrap("write", err)
		}
		if l.s.opts.WaitReplicas > 0 {
			// It applied, but the WAIT that followed it got no answer.
			// Replication is one ordered stream: a replica that has a
			// later write has this one. Touch the fence (it exists: the
			// write recorded itself there) and wait for that.
			l.released = true // the write script released the lock
			_, werr := l.s.replicated(ctx, nil, func(p redis.Pipeliner) redis.Cmder {
				return p.PExpire(ctx, fence, l.s.opts.LockTTL)
			})
			return true, wrap("write", werr)
		}
		n = 1
	}
	if n != 1 {
		return false, errLockLost
	}
	return true, nil
}

// writeSplit is Write for a Cluster without hash tags, phpredis' way:
// check the token, write, release — three commands, and a holder whose
// lock expires between the check and the write still writes. SET and DEL
// are idempotent, so a retried one does no harm; when the reply is lost,
// the record is read back to tell whether the write landed.
func (l *lock) writeSplit(ctx context.Context, data []byte, ms int64) error {
	if l.released {
		return errLockLost
	}
	holder, err := l.s.client.Get(ctx, l.lockKey).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return wrap("write", err)
	}
	if holder != l.token {
		return errLockLost
	}
	if ms > 0 {
		err = l.s.client.Set(ctx, l.key, data, time.Duration(ms)*time.Millisecond).Err()
	} else {
		err = l.s.client.Del(ctx, l.key).Err()
	}
	if err != nil && !l.landed(ctx, data, ms) {
		return wrap("write", err)
	}
	l.release(ctx)
	return nil
}

// landed reports whether the record holds what a write whose reply was
// lost wanted: data, or no record for a delete (ms == 0).
func (l *lock) landed(ctx context.Context, data []byte, ms int64) bool {
	var (
		got   []byte
		found bool
	)
	err := l.s.untilAnswered(ctx, func(ctx context.Context) error {
		var err error
		got, err = l.s.client.Get(ctx, l.key).Bytes()
		found = err == nil
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		return err
	})
	if err != nil {
		return false
	}
	if ms == 0 {
		return !found
	}
	return found && bytes.Equal(got, data)
}

// Unlock releases the lock if this holder still has it (compare-and-delete
// on the token). After a successful Write it has nothing left to do and
// costs no round trip. Otherwise — the request only read — it queues the
// release and returns at once: a background sender delivers it within
// about one round trip, batched with other requests' releases, and a Lock
// of the same session by this store meanwhile takes the lock over without
// waiting (release.go). So a locked read-only request waits for one round
// trip, not two. After Store.Close, Unlock releases before it returns,
// bounded by the client's timeouts and five seconds, even when ctx is
// already cancelled (a request that ended early must not leave its
// session locked for LockTTL); if Redis does not answer it returns the
// error and the store goes on releasing the lock in the background
// (settle.go).
func (l *lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	if l.s.releaseLater(l.lockKey, l.token) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	if err := releaseScript.Run(ctx, l.s.client, []string{l.lockKey}, l.token).Err(); err != nil {
		l.s.settleLater(settleJob{lockKey: l.lockKey, token: l.token, until: time.Now().Add(l.s.opts.LockTTL)})
		return wrap("unlock", err)
	}
	return nil
}

// release deletes the lock if it still holds the token, ignoring errors:
// the TTL frees it otherwise.
func (l *lock) release(ctx context.Context) {
	l.released = true
	if l.s.releaseLater(l.lockKey, l.token) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	_ = releaseScript.Run(ctx, l.s.client, []string{l.lockKey}, l.token).Err()
	l.released = true
}
