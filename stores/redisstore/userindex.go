package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// The user index (core.UserIndex) has two kinds of keys:
//
//   - one sorted set per user, "<KeyPrefix>user:{<user>}" ("<KeyPrefix>user:<user>"
//     with NoHashTag), whose members are the IDs of the user's sessions,
//     each scored with the Redis time (Unix ms) until which it may live;
//   - one owner key per bound session, the session's key plus "_USER",
//     holding the user's name, so that Touch — which is given only the ID
//     — can extend the session's entry too.
//
// Every command on a user's set touches that one key, so the set needs no
// slot in common with the sessions: on a Cluster it lives wherever its own
// hash tag puts it. The owner key shares the session's slot (same tag).

// ownerSuffix is appended to a session's key to name its owner key.
const ownerSuffix = "_USER"

// indexSlack is how long an index entry outlives the expiry it was given:
// the session's own TTL is set by another command, a little earlier or
// later, and an entry must never lapse before its session. An entry that
// outlives its session is harmless (the Manager checks each).
const indexSlack = time.Minute

// userKey returns the key of user's sorted set.
func (s *Store) userKey(user string) string {
	if s.opts.NoHashTag {
		return s.opts.KeyPrefix + "user:" + user
	}
	return s.opts.KeyPrefix + "user:{" + user + "}"
}

// ownerKey returns the key naming the user session id is bound to.
func (s *Store) ownerKey(id string) string { return s.key(id) + ownerSuffix }

// indexAddScript adds a session to a user's set.
//
//	KEYS[1] the user's set
//	ARGV[1] session ID, ARGV[2] its time to live in ms, ARGV[3] slack in ms
//
// The entry's score becomes Redis' clock plus the TTL and the slack,
// never lower than it was (a shorter TTL only means the entry outlives its
// session for a while). Entries whose score passed are dropped, and the
// set expires with its latest entry.
var indexAddScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
local score = now + tonumber(ARGV[2]) + tonumber(ARGV[3])
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) < score then
  redis.call('ZADD', KEYS[1], score, ARGV[1])
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`)

// indexListScript drops a user's entries whose score passed and returns
// the others.
//
//	KEYS[1] the user's set
var indexListScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

// unbindScript deletes an owner key if it names the given user.
//
//	KEYS[1] owner key, ARGV[1] user
var unbindScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// extendOwnerScript moves an owner key's TTL if it still names the given
// user: a Touch must not extend a binding that a concurrent commit changed.
//
//	KEYS[1] owner key, ARGV[1] user, ARGV[2] time to live in ms
var extendOwnerScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// touchScript is Touch of a session that may be bound to a user.
//
//	KEYS[1] data key, KEYS[2] owner key
//	ARGV[1] time to live in ms
//
// An unbound session's TTL is moved at once and the answer is nil, as it
// is for an absent session. A bound one is left alone and the answer is its
// user: the caller extends the index entry first and the session after, so
// that the entry never lapses before the session does.
var touchScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local owner = redis.call('GET', KEYS[2])
if owner then return owner end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return false
`)

// AddUserSession records that session id belongs to user until expiry:
// the ID joins the user's set (scored with its expiry on Redis' clock, plus
// a minute), the set's TTL follows its latest entry, and the session's
// owner key names the user. One pipelined round trip; on a Cluster the two
// keys may sit on two nodes, which go-redis asks in parallel.
func (s *Store) AddUserSession(ctx context.Context, user, id string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap("add user session", err)
	}
	ms := ttl(expiry)
	if ms == 0 {
		return nil // the session has ended: nothing to find it by
	}
	return wrap("add user session", s.bind(ctx, user, id, ms))
}

// bind adds id to user's set and points id's owner key at user, both for
// ms (plus the slack).
func (s *Store) bind(ctx context.Context, user, id string, ms int64) error {
	slack := indexSlack.Milliseconds()
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		indexAddScript.Run(ctx, p, []string{s.userKey(user)}, id, ms, slack)
		p.Set(ctx, s.ownerKey(id), user, time.Duration(ms+slack)*time.Millisecond)
		return nil
	})
	return noScriptRetry(ctx, err, func() error { return s.bindUncached(ctx, user, id, ms) })
}

// bindUncached is bind without the pipeline, for a server that does not
// have the script cached yet: Script.Run falls back to EVAL on NOSCRIPT,
// which a pipeline cannot do, since it sends EVALSHA and learns only
// afterwards that it failed.
func (s *Store) bindUncached(ctx context.Context, user, id string, ms int64) error {
	slack := indexSlack.Milliseconds()
	if err := indexAddScript.Run(ctx, s.client, []string{s.userKey(user)}, id, ms, slack).Err(); err != nil {
		return err
	}
	return s.client.Set(ctx, s.ownerKey(id), user, time.Duration(ms+slack)*time.Millisecond).Err()
}

// RemoveUserSession forgets that session id belongs to user: ZREM from the
// user's set, and the owner key is deleted if it names user. Forgetting an
// unknown pair is not an error. One pipelined round trip.
func (s *Store) RemoveUserSession(ctx context.Context, user, id string) error {
	if err := ctx.Err(); err != nil {
		return wrap("remove user session", err)
	}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, s.userKey(user), id)
		unbindScript.Run(ctx, p, []string{s.ownerKey(id)}, user)
		return nil
	})
	err = noScriptRetry(ctx, err, func() error {
		if err := s.client.ZRem(ctx, s.userKey(user), id).Err(); err != nil {
			return err
		}
		return unbindScript.Run(ctx, s.client, []string{s.ownerKey(id)}, user).Err()
	})
	return wrap("remove user session", err)
}

// UserSessions lists the IDs of user's sessions, in no particular order:
// one script on the user's set, which first drops the entries whose
// expiry (plus a minute) has passed. It never looks at other users' keys
// or at the sessions themselves; an ID whose session ended early (an
// expired idle timeout, a failed RemoveUserSession) may still be listed.
func (s *Store) UserSessions(ctx context.Context, user string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("user sessions", err)
	}
	ids, err := indexListScript.Run(ctx, s.client, []string{s.userKey(user)}).StringSlice()
	if err != nil {
		return nil, wrap("user sessions", err)
	}
	return ids, nil
}

// touchBound is Touch: it moves id's TTL to ms, and for a session bound to
// a user it extends the user's index entry first, so that the entry never
// lapses while the session lives — the Manager's Touch does not call
// AddUserSession. An unbound session costs one round trip (two on a
// Cluster without hash tags); a bound one two more.
func (s *Store) touchBound(ctx context.Context, id string, ms int64) error {
	owner, err := s.owner(ctx, id, ms)
	if err != nil || owner == "" {
		return err
	}
	slack := indexSlack.Milliseconds()
	if err := indexAddScript.Run(ctx, s.client, []string{s.userKey(owner)}, id, ms, slack).Err(); err != nil {
		return err
	}
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.PExpire(ctx, s.key(id), time.Duration(ms)*time.Millisecond)
		extendOwnerScript.Run(ctx, p, []string{s.ownerKey(id)}, owner, ms+slack)
		return nil
	})
	return noScriptRetry(ctx, err, func() error {
		if err := s.client.PExpire(ctx, s.key(id), time.Duration(ms)*time.Millisecond).Err(); err != nil {
			return err
		}
		return extendOwnerScript.Run(ctx, s.client, []string{s.ownerKey(id)}, owner, ms+slack).Err()
	})
}

// owner returns the user id is bound to, or "" after it moved the TTL of
// an unbound session (or found none).
func (s *Store) owner(ctx context.Context, id string, ms int64) (string, error) {
	if s.oneKeyspace {
		owner, err := touchScript.Run(ctx, s.client, []string{s.key(id), s.ownerKey(id)}, ms).Text()
		if errors.Is(err, redis.Nil) {
			return "", nil
		}
		return owner, err
	}
	// Cluster without hash tags: the two keys live in different slots.
	owner, err := s.client.Get(ctx, s.ownerKey(id)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", s.client.PExpire(ctx, s.key(id), time.Duration(ms)*time.Millisecond).Err()
	case err != nil:
		return "", err
	}
	return owner, nil
}

// noScriptRetry runs again, without a pipeline, a pipelined call that
// failed because the server had not cached one of its scripts yet.
func noScriptRetry(ctx context.Context, err error, again func() error) error {
	if err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
		return err
	}
	return again()
}
