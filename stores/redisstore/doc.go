// Package redisstore keeps sessionkit sessions in Redis or Valkey — a single
// node, Sentinel or a Cluster — through a go-redis v9 UniversalClient that
// the application owns, so several app servers share one set of sessions.
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	store, err := redisstore.New(client, redisstore.Options{})
//	if err != nil {
//		return err
//	}
//	m, err := core.New(store, core.Config{Locking: true, Keys: keys})
//
// # Layout
//
// A session lives in one string key, "<KeyPrefix>{<id>}" by default, whose
// Redis TTL is the session's expiry (SET … PX, PEXPIRE): Redis expires
// sessions itself, so the store has no GC and the Manager runs none. The
// braces are a Cluster hash tag: the session's lock key, the data key plus
// LockSuffix, hashes to the same slot, so one Lua script can take the lock
// and read the data, or check the lock, write and release.
//
// PHPRedis() gives phpredis' layout instead — "PHPREDIS_SESSION:<id>" and
// "PHPREDIS_SESSION:<id>_LOCK", no hash tag — so PHP and Go share sessions
// and lock each other out during a migration. On a single node or Sentinel
// that layout keeps every guarantee; on a Cluster its lock and data keys sit
// in different slots and locking falls back to separate commands.
//
// # Round trips
//
// A read is one GET; a write one SET. With locking on, Lock takes the lock
// and reads the data in one script, and the lock's Write checks the token,
// writes and releases in one script, so a locked read-modify-write costs
// two round trips, as an unlocked one does. Swap (compare-and-swap) is one
// script. Scripts run with EVALSHA and are cached by the server.
//
// # Locks
//
// A lock is SET <lock key> <random token> NX PX LockTTL, retried with
// jittered backoff while another request holds it; release is a
// compare-and-delete on the token, the same protocol phpredis uses. A dead
// holder's lock expires after LockTTL; a holder that outlives it gets
// core.ErrLockLost from its write, and its data is not applied. Locks are
// not extended while held: set LockTTL above your slowest request.
//
// # Failures
//
// A Redis that is down, slow or refusing surfaces as an error from every
// method (the Manager answers 503), never as an empty session. Timeouts are
// the client's: configure DialTimeout, ReadTimeout and WriteTimeout on it,
// and ContextTimeoutEnabled so that request contexts cut commands short.
//
// The store never sends KEYS or FLUSHDB; DeleteAll walks the prefix with
// SCAN.
package redisstore
