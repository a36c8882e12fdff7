package redisstore

import (
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
		res, err := lockScript.Run(ctx, l.s.client, []string{l.lockKey, l.key}, l.token, l.s.opts.LockTTL.Milliseconds()).Slice()
		if err != nil {
			// The script may have run and only its reply been lost: free
			// the lock rather than leave the session blocked for LockTTL.
			l.release(ctx)
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
	ok, err := l.s.client.SetNX(ctx, l.lockKey, l.token, l.s.opts.LockTTL).Result()
	if err != nil || !ok {
		return false, err
	}
	data, err := l.s.client.Get(ctx, l.key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		l.prefetched = true
		return true, nil
	case err != nil:
		l.release(ctx)
		return false, err
	}
	l.data, l.found, l.prefetched = data, true, true
	return true, nil
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
func (l *lock) Write(ctx context.Context, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap("write", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ms := ttl(expiry)
	sum := ""
	if ms > 0 {
		h := sha1.Sum(data)
		sum = hex.EncodeToString(h[:])
	}
	if l.s.oneKeyspace {
		n, err := writeScript.Run(ctx, l.s.client, []string{l.lockKey, l.key}, l.token, data, ms, l.written).Int()
		if err != nil {
			return wrap("write", err)
		}
		if n != 1 {
			return errLockLost
		}
	} else if err := l.writeSplit(ctx, data, ms); err != nil {
		return err
	}
	l.released, l.written = true, sum
	l.prefetched, l.data = false, nil
	return nil
}

// writeSplit is Write for a Cluster without hash tags, phpredis' way:
// check the token, write, release — three commands, and a holder whose
// lock expires between the check and the write still writes.
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
	if err != nil {
		return wrap("write", err)
	}
	l.release(ctx)
	return nil
}

// Unlock releases the lock if this holder still has it (compare-and-delete
// on the token). After a successful Write it has nothing left to do and
// costs no round trip. It runs even when ctx is already cancelled — a
// request that ended early must not leave its session locked for LockTTL —
// bounded by the client's timeouts and five seconds.
func (l *lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	if err := releaseScript.Run(ctx, l.s.client, []string{l.lockKey}, l.token).Err(); err != nil {
		return wrap("unlock", err)
	}
	l.released = true
	return nil
}

// release deletes the lock if it still holds the token, ignoring errors:
// the TTL frees it otherwise.
func (l *lock) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	_ = releaseScript.Run(ctx, l.s.client, []string{l.lockKey}, l.token).Err()
	l.released = true
}
