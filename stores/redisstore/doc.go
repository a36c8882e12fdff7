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
// # Log out everywhere
//
// The store has core.UserIndex, so Manager.DestroyUser,
// DestroyOtherSessions and UserSessions work with it, without ever walking
// the sessions (no SCAN, no KEYS). Each user has a sorted set,
// "<KeyPrefix>user:{<user>}" ("<KeyPrefix>user:<user>" with NoHashTag),
// whose members are the IDs of the user's sessions, each scored with the
// time, on Redis' clock, until which its session may live plus a minute.
// Every command on it touches that one key, so on a Cluster it needs no
// slot in common with the sessions: the braces give it a slot of its own,
// by user. UserSessions is one script (ZRANGE, after dropping the entries
// whose score passed), RemoveUserSession a ZREM, AddUserSession a script
// that adds or extends the entry, drops the expired ones and moves the
// set's TTL to its latest entry: a user's set expires with their last
// session, and an empty one is gone at once. Stale entries (a session that
// ended without RemoveUserSession) are harmless, since the Manager checks
// each session it lists or ends, and go when their score passes.
//
// A sorted set rather than a plain set because an entry must never lapse
// while its session lives, and the Manager's Touch extends a session
// without calling AddUserSession. So each bound session also has an owner
// key, its key plus "_USER" (same hash tag, same slot), naming its user.
// Touch runs a script that moves an unbound session's TTL at once, as a
// PEXPIRE did (on a Cluster without hash tags, a GET of the owner key and
// then PEXPIRE); for a bound one it extends the user's entry first and then
// the session and its owner key (the latter only if it still names that
// user), so a failure in between leaves the entry outliving the session,
// never the reverse. AddUserSession writes the owner key in the same
// pipeline as the entry, RemoveUserSession deletes it if it names that
// user. Writing a bound session thus costs one more round trip (the
// Manager's AddUserSession after each commit), touching one two more;
// unbound sessions cost nothing more. LockSuffix may not be "_USER".
//
// Scripts read Redis' clock (TIME) before writing, which needs Redis 5 or
// later (or Valkey): scripts are replicated by their effects.
//
// # Round trips
//
// A read is one GET; a write one SET. With locking on, Lock takes the lock
// and reads the data in one script, and the lock's Write checks the token,
// writes and releases in one script, so a locked read-modify-write costs
// two round trips, as an unlocked one does. A locked request that only
// read — without having to say so with ReadOnly — waits for one: its
// Unlock queues the release, which a background sender delivers after the
// response, pipelined with the releases other requests queued meanwhile
// (with 16 users in parallel, 1.08 round trips per locked read in all).
// A Lock of the same session by this store while its release is on the
// way takes the lock over in its own round trip instead of waiting; a
// Lock from another app server finds it held for about one round trip
// longer and retries after LockRetry (2 ms by default) — a user whose
// requests alternate between app servers sees that in the tail latency
// (p99 about 2 ms higher, measured once on loopback). Close
// (called by the Manager's Close) sends what is still queued. Swap
// (compare-and-swap) is one script. Scripts run with EVALSHA and are
// cached by the server.
//
// # Locks
//
// A lock is SET <lock key> <random token> NX PX LockTTL (in a script),
// retried with jittered backoff while another request holds it; release
// is a compare-and-delete on the token, the same protocol phpredis uses. A
// dead holder's lock expires after LockTTL; a holder that outlives it gets
// core.ErrLockLost from its write, and its data is not applied. Locks are
// not extended while held: set LockTTL above your slowest request.
//
// # Faults: no lock left behind, no ambiguous write
//
// A command whose reply is lost (a read timeout, a broken connection) may
// have run, may still run — go-redis resends a timed-out command on a new
// connection, and a Redis that stalled (a fork, a swap storm, SIGSTOP)
// runs every command it buffered when it resumes — or may never run. Two
// rules keep that from blocking sessions or misleading clients.
//
// Lock attempts are idempotent per token: a resent attempt that finds the
// lock already holding its own token has taken it, rather than finding it
// "held by someone else" and waiting for it to expire. An attempt that
// fails with an error is abandoned: the store settles it in the background
// as soon as Redis answers again — the lock is released if the attempt took
// it, and a fence key makes sure a copy of the attempt that Redis has not
// run yet never takes it. After a stall a session is free within a fraction
// of a second of Redis answering again, not LockTTL later. A stall longer
// than LockTTL is treated like a holder that died: a lock still taken when
// Redis resumes expires LockTTL later.
//
// A locked write carries a fence key of its own, named by a random nonce:
// the script that writes and releases also records there that it applied,
// and a resent copy answers what the fence says instead of running again
// (which would find the lock released and report a lost lock). When a
// write's reply is lost, Write asks Redis (settleScript): "applied" makes
// Write return nil; otherwise the fence is closed, so the write can never
// apply later, the lock is released, and Write returns the error — a 5xx
// from the Manager then always means "not applied" (with WaitReplicas, a
// write that applied but that no replica acknowledged is an error too:
// see "Replication and failover"). Only if Redis stays
// unreachable for the whole settling time (five seconds) does Write return
// an error saying the outcome is unknown; the store then settles the write
// in the background once Redis answers, so it does not apply at some later
// time unless it already had, and its lock is released. An Unlock that gets
// no answer is finished in the background too.
//
// Swap, the unlocked write, works the same way: its script records its
// answer (wrote, or the record did not match) under a fence key of its own,
// so a copy resent after a lost reply answers as the first did — without
// the fence it would find the swap's own write and report a conflict (409)
// for a change that applied — and a swap whose reply never came is settled
// before Swap answers: true, false, or an error only if it did not apply.
//
// Fence keys are small (152 bytes each in Redis' MEMORY USAGE), live LockTTL and sit
// under the key prefix: one per write (locked write or Swap), and one per
// abandoned lock attempt — at 1,000 writes a second and the default
// LockTTL, some 30,000 keys, about 4.6 MB.
//
// On a Cluster without hash tags (NoHashTag, PHP layout) the fence key
// cannot share a slot with the lock: there a resent attempt still counts as
// the same attempt, an abandoned one is released by compare-and-delete
// (which a copy Redis runs later can undo until LockTTL), a write
// whose reply is lost is settled by reading the record back, and a Swap
// whose reply is lost is an error (a resent copy can report a conflict for
// a swap that applied).
//
// # Replication and failover
//
// Redis replicates asynchronously: a write is acknowledged by the master
// before its replicas have it, so when the master dies and Sentinel (or
// the Cluster) promotes a replica, the writes the replica had not received
// are gone although the clients were told they succeeded — a login, a
// cart change, an increment. Measured on loopback with a Sentinel setup
// (master, replica, three sentinels, down-after-milliseconds 1000) and
// eight users under HTTP load, over 30 runs: the sentinels promote the
// replica 2.3 to 2.6 s after the master is SIGKILLed; requests answer 503
// meanwhile (never an empty session) and succeed again without any
// restart, 2.4 s (median; at most 3.5 s) after the kill. A plain kill
// rarely loses anything on loopback, where a replica is microseconds
// behind (once, a login); when the replica had lost its link 200 ms before
// the master died (a partition), 37 to 467 acknowledged increments and a
// dozen logins were lost per run.
//
// A lost write can take a lock release with it: the new master may still
// hold a lock that a request took and released on the old one, and that
// session waits LockTTL (or gets the Manager's lock timeout) once after
// the failover. go-redis tries a refused dial five times, 100 ms apart
// (DialerRetries, v9.15 on), and retries a command MaxRetries times: with
// its defaults a request takes about 1.7 s to get its 503 once the master
// is gone. DialerRetries: 1 answers at once, but then the pool redials
// only once a second, which delayed recovery by about 0.9 s.
//
// Options.WaitReplicas closes the window for the session writes (Write,
// Swap, Destroy and the locked write): after each one the store sends WAIT
// <WaitReplicas> <WaitTimeout> on the same connection, in the same round
// trip, and a write that fewer replicas acknowledged in time fails — the
// request gets a 503 and the client never hears that it succeeded. Such
// a write did apply on the master and may well survive; what WAIT adds is
// that an acknowledged write is on WaitReplicas replicas, so a failover to
// one of them keeps it: in the partition runs above, no acknowledged write
// was lost with WaitReplicas: 1. The price:
//
//   - latency: each write waits for a replica's acknowledgement (on
//     loopback a fraction of a millisecond; a network round trip
//     otherwise);
//   - availability: with fewer replicas up than WaitReplicas, every write
//     fails after WaitTimeout until one is back. After a failover the old
//     master must return as a replica (or another replica be added) and
//     sync before writes succeed again: writes kept failing 4 to 5.5 s
//     after the first 503 with the killed node restarted as a replica at
//     once, against under a second without WaitReplicas.
//
// WAIT is not a consensus protocol: Sentinel may still promote a replica
// that had not acknowledged the last writes if the one that had is
// unreachable too, and the lock, user index and Touch commands do not wait
// (a lock lost in a failover costs a lost-lock 503 or a wait of up to
// LockTTL, an index entry or a TTL extension is redone by the next
// request). Redis' own min-replicas-to-write refuses writes on a master
// that lost its replicas and complements it. WaitReplicas needs a client
// of one master (a single node with replicas, or a Sentinel failover
// client): a Cluster client would send the keyless WAIT to any node, so
// New refuses it there. Keep WaitTimeout below the client's ReadTimeout.
//
// On a Cluster, a master that is down takes its slots with it: requests
// for sessions there get a 503, and once the whole Cluster notices (the
// node timeout) every request does, until the node is back. A restarted
// master keeps refusing for two seconds (Redis' CLUSTER_WRITABLE_DELAY);
// measured with a one-second node timeout, requests succeed again about
// 2 s after the node's return, within tens of milliseconds of the Cluster
// reporting cluster_state:ok, and 20 ms after a stall (SIGSTOP) ends.
//
// # Failures
//
// A Redis that is down, slow or refusing surfaces as an error from every
// method (the Manager answers 503), never as an empty session. Timeouts are
// the client's: configure DialTimeout, ReadTimeout and WriteTimeout on it,
// and ContextTimeoutEnabled so that request contexts cut commands short.
//
// The store never sends KEYS or FLUSHDB; DeleteAll walks the prefix with
// SCAN (and deletes the user index with the sessions).
package redisstore
