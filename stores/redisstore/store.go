package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
)

// Compile-time checks: the capabilities the store really has. It has no GC
// (Redis expires keys itself), no CreateID (core mints IDs), no Open; its
// Close flushes queued lock releases and leaves the client, which belongs
// to the caller, open.
var (
	_ core.Store     = (*Store)(nil)
	_ core.Toucher   = (*Store)(nil)
	_ core.Exister   = (*Store)(nil)
	_ core.Locker    = (*Store)(nil)
	_ core.Swapper   = (*Store)(nil)
	_ core.UserIndex = (*Store)(nil)
	_ io.Closer      = (*Store)(nil)

	_ core.LockedReader = (*lock)(nil)
	_ core.LockedWriter = (*lock)(nil)
)

// Defaults of Options.
const (
	DefaultKeyPrefix    = "sessionkit:"
	DefaultLockSuffix   = "_LOCK"
	DefaultLockTTL      = 30 * time.Second
	DefaultLockRetry    = 2 * time.Millisecond
	DefaultLockRetryMax = 64 * time.Millisecond
	DefaultWaitTimeout  = 500 * time.Millisecond
)

// PHPRedisPrefix is phpredis' default session key prefix.
const PHPRedisPrefix = "PHPREDIS_SESSION:"

// Options configures a Store. The zero value is the recommended setup for a
// Go-only deployment: keys "sessionkit:{<id>}", locks "sessionkit:{<id>}_LOCK".
type Options struct {
	// KeyPrefix starts every key the store writes (default "sessionkit:").
	// Give each application sharing one Redis its own prefix.
	KeyPrefix string

	// LockSuffix is appended to a session's key to name its lock
	// (default "_LOCK", as phpredis does).
	LockSuffix string

	// NoHashTag drops the Redis Cluster hash tag around the ID: keys become
	// "<prefix><id>" instead of "<prefix>{<id>}". PHP interop needs it
	// (phpredis reads "PHPREDIS_SESSION:<id>"). On a single node or behind
	// Sentinel nothing else changes. On a Cluster the data key and the lock
	// key then live in different slots, so they can no longer be handled by
	// one script: locking takes separate commands (more round trips), and a
	// locked write checks the lock and writes the data in two steps, the
	// way phpredis does.
	NoHashTag bool

	// LockTTL is how long a lock outlives a holder that died (default 30s).
	// A holder that works longer loses its lock; its write is then refused
	// with core.ErrLockLost. Keep it above the longest request.
	LockTTL time.Duration

	// LockRetry is the first wait after a failed lock attempt (default
	// 2ms); waits double up to LockRetryMax (default 64ms), with jitter.
	LockRetry    time.Duration
	LockRetryMax time.Duration

	// WaitReplicas, above zero, makes every session write — Write, Swap,
	// Destroy and a locked write — wait until that many replicas
	// acknowledged it: Redis' WAIT, sent after the write on the same
	// connection, in the same round trip. A write that fewer replicas
	// acknowledged within WaitTimeout fails with an error (the Manager
	// answers 503); it did apply on the master and may survive, or be lost
	// if the master fails before its replicas got it. It needs a client of
	// one master: a single node with replicas or a Sentinel failover client,
	// not a Cluster client. See the package doc, "Replication".
	WaitReplicas int

	// WaitTimeout bounds the WAIT (default 500ms). It must stay below the
	// client's ReadTimeout, which bounds the round trip that carries it.
	WaitTimeout time.Duration
}

// PHPRedis returns the Options that share sessions and locks with PHP's
// phpredis save handler (session.save_handler=redis with its default
// prefix): keys "PHPREDIS_SESSION:<id>", locks "PHPREDIS_SESSION:<id>_LOCK".
// Pair it with a PHP codec and core.TransportRawCookie in core.Config.
func PHPRedis() Options {
	return Options{KeyPrefix: PHPRedisPrefix, LockSuffix: DefaultLockSuffix, NoHashTag: true}
}

// Store keeps sessions in Redis (or Valkey): single node, Sentinel or
// Cluster, through any go-redis UniversalClient. It is safe for concurrent
// use.
type Store struct {
	client redis.UniversalClient
	opts   Options
	// oneKeyspace is true when every key is reachable from one script: a
	// plain client (single node or Sentinel) or a hash-tagged layout.
	oneKeyspace bool
	// settleTimeout bounds settling a locked write whose reply was lost
	// (defaultSettleTimeout; tests shorten it).
	settleTimeout time.Duration
	// settler settles abandoned lock attempts in the background.
	settler settler
	// releaser sends the releases of read-only requests' locks in the
	// background (release.go).
	releaser releaser
}

// Close sends the lock releases still queued (the Unlock of a request
// that only read queues its release; see lock.Unlock) and waits for them,
// at most five seconds; Unlock releases synchronously from then on. It
// does not close the client, which belongs to the caller, and the store
// stays usable. The Manager's Close calls it; a process that exits
// without it may leave the sessions of its last requests locked until
// LockTTL.
func (s *Store) Close() error {
	s.closeReleaser()
	return nil
}

// New returns a Store over client, which the caller owns: the store never
// dials, closes or reconfigures it. Errors from Redis reach the caller with
// the client's own timeouts; set ContextTimeoutEnabled on the client so
// that a context cancelled during a command also interrupts it.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("redisstore: nil client: %w", core.ErrConfig)
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = DefaultKeyPrefix
	}
	if opts.LockSuffix == "" {
		opts.LockSuffix = DefaultLockSuffix
	}
	if opts.LockTTL == 0 {
		opts.LockTTL = DefaultLockTTL
	}
	if opts.LockRetry == 0 {
		opts.LockRetry = DefaultLockRetry
	}
	if opts.LockRetryMax == 0 {
		opts.LockRetryMax = DefaultLockRetryMax
	}
	switch {
	case opts.LockTTL < time.Millisecond:
		return nil, fmt.Errorf("redisstore: LockTTL %v is below one millisecond: %w", opts.LockTTL, core.ErrConfig)
	case opts.LockRetry < 0 || opts.LockRetryMax < opts.LockRetry:
		return nil, fmt.Errorf("redisstore: LockRetry %v / LockRetryMax %v: %w", opts.LockRetry, opts.LockRetryMax, core.ErrConfig)
	case opts.LockSuffix == ownerSuffix:
		return nil, fmt.Errorf("redisstore: LockSuffix %q names the user index's owner keys: %w", opts.LockSuffix, core.ErrConfig)
	case opts.WaitReplicas < 0 || opts.WaitTimeout < 0:
		return nil, fmt.Errorf("redisstore: WaitReplicas %d / WaitTimeout %v: %w", opts.WaitReplicas, opts.WaitTimeout, core.ErrConfig)
	case !opts.NoHashTag && strings.ContainsAny(opts.KeyPrefix, "{}"):
		// The first {…} of a key is its hash tag; braces in the prefix
		// would make every session hash to one slot.
		return nil, fmt.Errorf("redisstore: KeyPrefix %q contains a brace; braces are reserved for the hash tag: %w", opts.KeyPrefix, core.ErrConfig)
	}
	plainClient, plain := client.(*redis.Client) // single node, or a Sentinel failover client
	if opts.WaitReplicas > 0 {
		if opts.WaitTimeout == 0 {
			opts.WaitTimeout = DefaultWaitTimeout
		}
		if !plain {
			// A Cluster pipeline sends a keyless WAIT to any node, not to
			// the one that took the write.
			return nil, fmt.Errorf("redisstore: WaitReplicas needs a single-node or Sentinel client, not %T: %w", client, core.ErrConfig)
		}
		rt := plainClient.Options().ReadTimeout
		if rt == 0 {
			rt = 3 * time.Second // go-redis' default
		}
		if rt > 0 && opts.WaitTimeout >= rt {
			return nil, fmt.Errorf("redisstore: WaitTimeout %v is not below the client's ReadTimeout %v: %w", opts.WaitTimeout, rt, core.ErrConfig)
		}
	}
	return &Store{client: client, opts: opts, oneKeyspace: plain || !opts.NoHashTag, settleTimeout: defaultSettleTimeout}, nil
}

// key returns the data key of id.
func (s *Store) key(id string) string {
	if s.opts.NoHashTag {
		return s.opts.KeyPrefix + id
	}
	return s.opts.KeyPrefix + "{" + id + "}"
}

// lockKey returns the lock key of id: the data key plus LockSuffix.
func (s *Store) lockKey(id string) string { return s.key(id) + s.opts.LockSuffix }

// ttl converts an absolute expiry into the milliseconds Redis' PX wants;
// zero or less means the expiry has passed.
func ttl(expiry time.Time) int64 {
	d := time.Until(expiry)
	if d <= 0 {
		return 0
	}
	ms := d.Milliseconds()
	if ms == 0 {
		ms = 1
	}
	return ms
}

// wrap turns a client error into the store's error; op names the method.
// IDs never appear in it.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// Read returns the data stored under id: GET, one round trip.
func (s *Store) Read(ctx context.Context, id string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrap("read", err)
	}
	data, err := s.client.Get(ctx, s.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap("read", err)
	}
	return data, true, nil
}

// Write stores data under id until expiry: SET key data PX ms. An expiry
// that has passed deletes the record instead.
func (s *Store) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap("write", err)
	}
	ms := ttl(expiry)
	if s.opts.WaitReplicas > 0 {
		_, err := s.replicated(ctx, nil, func(p redis.Pipeliner) redis.Cmder {
			if ms == 0 {
				return p.Del(ctx, s.key(id))
			}
			return p.Set(ctx, s.key(id), data, time.Duration(ms)*time.Millisecond)
		})
		return wrap("write", err)
	}
	if ms == 0 {
		return wrap("write", s.client.Del(ctx, s.key(id)).Err())
	}
	return wrap("write", s.client.Set(ctx, s.key(id), data, time.Duration(ms)*time.Millisecond).Err())
}

// Destroy deletes id's record: DEL. Its lock, if any, is left to its holder.
func (s *Store) Destroy(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return wrap("destroy", err)
	}
	if s.opts.WaitReplicas > 0 {
		_, err := s.replicated(ctx, nil, func(p redis.Pipeliner) redis.Cmder { return p.Del(ctx, s.key(id)) })
		return wrap("destroy", err)
	}
	return wrap("destroy", s.client.Del(ctx, s.key(id)).Err())
}

// Touch moves id's expiry without rewriting its data: PEXPIRE, which does
// nothing to an absent key, in a script that also checks whether the
// session is bound to a user; if it is, the user's index entry is extended
// first (userindex.go). An expiry that has passed deletes the record.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap("touch", err)
	}
	ms := ttl(expiry)
	if ms == 0 {
		return wrap("touch", s.client.Del(ctx, s.key(id)).Err())
	}
	return wrap("touch", s.touchBound(ctx, id, ms))
}

// Exists reports whether a live record exists under id: EXISTS.
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap("exists", err)
	}
	n, err := s.client.Exists(ctx, s.key(id)).Result()
	if err != nil {
		return false, wrap("exists", err)
	}
	return n == 1, nil
}

// Swap is an atomic compare-and-swap on id's record, one script and one
// round trip: with old != nil it writes new only if the record holds
// exactly old; with old == nil only if no record exists.
//
// Its answer is never wrong about what happened: the script records it
// under a fence key of this one swap (kept LockTTL), so a copy resent by
// go-redis after a lost reply answers as the first did, and when no reply
// comes at all Swap asks Redis (swapSettleScript) before it answers —
// true if it wrote, false if the record did not match, an error if it did
// not run and now never will, or an error that says the outcome is
// unknown if Redis stays silent through that question too. On a Cluster
// without hash tags the fence cannot share the data key's slot; there a
// lost reply is an error and a resent copy can answer false for a swap
// that applied.
func (s *Store) Swap(ctx context.Context, id string, old, new []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap("swap", err)
	}
	mode, oldArg := "absent", []byte(nil)
	if old != nil {
		mode, oldArg = "equal", old
	}
	keys := []string{s.key(id)}
	fence := ""
	if s.oneKeyspace {
		nonce, err := newToken()
		if err != nil {
			return false, wrap("swap", err)
		}
		fence = fenceKey(s.lockKey(id), nonce)
		keys = append(keys, fence)
	}
	fenceTTL := s.opts.LockTTL.Milliseconds()
	args := []any{mode, oldArg, new, ttl(expiry), fenceTTL}
	var (
		n   int
		err error
	)
	if s.opts.WaitReplicas > 0 {
		var cmd redis.Cmder
		cmd, err = s.replicated(ctx, swapScript, func(p redis.Pipeliner) redis.Cmder {
			return swapScript.EvalSha(ctx, p, keys, args...)
		})
		if errors.Is(err, errNotReplicated) {
			if n, _ := cmd.(*redis.Cmd).Int(); n != 1 {
				return false, nil // nothing was written
			}
			return false, wrap("swap", err)
		}
		if err == nil {
			n, err = cmd.(*redis.Cmd).Int()
		}
	} else {
		n, err = swapScript.Run(ctx, s.client, keys, args...).Int()
	}
	if err != nil && fence != "" {
		n, err = s.settleSwap(ctx, id, fence, err)
		if err == nil && n == 1 && s.opts.WaitReplicas > 0 {
			// It applied, but the WAIT that followed it got no answer.
			// Replication is one ordered stream: a replica that has a
			// later write has this one. Touch the fence and wait for that.
			_, err = s.replicated(ctx, nil, func(p redis.Pipeliner) redis.Cmder {
				return p.PExpire(ctx, fence, s.opts.LockTTL)
			})
		}
	}
	if err != nil {
		return false, wrap("swap", err)
	}
	return n == 1, nil
}

// settleSwap finds out what a swap whose reply was lost (with error err)
// did, and makes it final: 1 or 0 as the swap answered, or err if the swap
// had not run (it never will now). If Redis does not answer that either,
// the swap is settled in the background and the error says the outcome is
// unknown.
func (s *Store) settleSwap(ctx context.Context, id, fence string, err error) (int, error) {
	var n int
	serr := s.untilAnswered(ctx, func(ctx context.Context) error {
		var err error
		n, err = swapSettleScript.Run(ctx, s.client, []string{fence}, s.opts.LockTTL.Milliseconds()).Int()
		return err
	})
	switch {
	case serr != nil:
		// settleScript with no lock token to match: it only fences the
		// swap off ("0": a late copy writes nothing).
		s.settleLater(settleJob{lockKey: s.lockKey(id), fence: fence, until: time.Now().Add(s.opts.LockTTL)})
		return 0, fmt.Errorf("outcome unknown, Redis did not answer whether it applied (%w): %w", serr, err)
	case n == -1:
		return 0, err
	}
	return n, nil
}

// errNotReplicated is the error of a write that fewer than WaitReplicas
// replicas acknowledged in time.
var errNotReplicated = errors.New("applied on the master but not acknowledged by enough replicas; it is lost if the master fails before they get it")

// replicated sends the write that queue adds to a pipeline, then WAIT
// WaitReplicas WaitTimeout: one connection (WAIT counts the writes sent on
// its own connection) and one round trip. sc names the script queue runs
// with EVALSHA, if any: a server that does not have it cached (a fresh
// server, a replica just promoted) answers NOSCRIPT, and the script is then
// loaded and the pipeline sent again. It returns the write's command and
// the write's error, or else the WAIT's, or errNotReplicated.
func (s *Store) replicated(ctx context.Context, sc *redis.Script, queue func(p redis.Pipeliner) redis.Cmder) (redis.Cmder, error) {
	for loaded := false; ; loaded = true {
		var (
			write redis.Cmder
			wait  *redis.Cmd
		)
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			write = queue(p)
			wait = p.Do(ctx, "wait", s.opts.WaitReplicas, s.opts.WaitTimeout.Milliseconds())
			return nil
		})
		werr := write.Err()
		if sc != nil && !loaded && werr != nil && strings.HasPrefix(werr.Error(), "NOSCRIPT") {
			if lerr := sc.Load(ctx, s.client).Err(); lerr != nil {
				return write, lerr
			}
			continue
		}
		switch {
		case werr != nil:
			return write, werr
		case err != nil:
			return write, err
		}
		if n, _ := wait.Int64(); n < int64(s.opts.WaitReplicas) {
			return write, fmt.Errorf("%w (%d of %d within %v)", errNotReplicated, n, s.opts.WaitReplicas, s.opts.WaitTimeout)
		}
		return write, nil
	}
}
