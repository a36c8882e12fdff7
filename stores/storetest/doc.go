// Package storetest is the conformance kit for sessionkit stores: one call
// runs the same subtests against any core.Store, so every store in this
// repository — and any third-party one — behaves the way the Manager expects.
//
// A store's own test file calls Run with a factory that returns a ready
// store and registers its cleanup with t.Cleanup:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) core.Store {
//			s, err := mystore.New(client, mystore.Options{LockTTL: 300 * time.Millisecond})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		}, storetest.LockTTL(300*time.Millisecond))
//	}
//
// Run it under the race detector (go test -race): the concurrency subtests
// are only meaningful there.
//
// # What is checked
//
// The required contract (Read, Write, Destroy) is always checked: a missing
// id is found=false with a nil error, binary data (0x00, 0xff, 64 KiB of
// random bytes) round-trips byte for byte, Write replaces, Destroy of an
// absent id is not an error, an expired record reads as absent, the store
// keeps no reference to the caller's slice and hands out none of its own, an
// already-cancelled context makes every call fail, and 16 goroutines mixing
// reads, writes and destroys see their own data intact.
//
// Each optional capability the store has (Touch, Exists, CreateID, GC,
// Lock, Swap, Open, Close, UserIndex: the method is there and a harmless
// probe call does not answer core.ErrNotSupported) has its own subtest; a
// capability the store lacks is skipped with "store has no X", which is
// expected. Lock subtests check mutual exclusion by ordering, not timing; a
// lock that outlives its TTL is only checked when the caller passes LockTTL
// with the TTL the factory configured (keep it short, a few hundred
// milliseconds).
//
// # Stores shared between subtests
//
// Every subtest calls the factory once and uses fresh random IDs, so a
// factory may hand out one shared backend (a real Redis database) as long as
// nothing else deletes its keys. Two subtests look beyond their own IDs: GC
// counts may include records of other tests (the kit only asserts a lower
// bound), and the GC-versus-lock subtest calls GC with a time ten seconds
// ahead, which may sweep records of other users of the backend that expire
// within those seconds. The whole run takes a few seconds, most of it
// waiting for short expiries.
//
// # Close
//
// The Close subtest closes the store it got from the factory; the factory's
// cleanup must tolerate a store that was already closed.
//
// # HTTP level
//
// Run checks the store alone; ConcurrentIncrements and TwoAppServers check
// it behind core's net/http middleware, the way an application uses it.
// Each store passed becomes one "app server" (NewApp): a core.Manager with
// the kit's shared signing keys, an Insecure cookie, a discarded log and a
// lock timeout of a minute (so that lock fairness under -race on a loaded
// CI machine cannot turn into a 503), served by httptest on 127.0.0.1 and
// driven by an http.Client with a cookie jar (NewBrowser). Pass several
// stores over one backend to play several servers behind a load balancer:
//
//	func TestConcurrentIncrements(t *testing.T) {
//		storetest.ConcurrentIncrements(t, 20, 100, newStore(t), newStore(t))
//	}
//
//	func TestTwoAppServers(t *testing.T) {
//		storetest.TwoAppServers(t, func(t *testing.T) (core.Store, core.Store) {
//			return newStore(t), newStore(t)
//		})
//	}
//
// ConcurrentIncrements sends n concurrent increments of one session per
// run, with locking on, and wants every answer 200, every count from 1 to n
// exactly once and a final count of n. TwoAppServers, with locking off and
// on, wants a login, a count and a logout through one server seen by the
// other, the pre-login ID dead after the login, and the logged-out cookie,
// replayed, giving an empty anonymous session on both servers. A Manager
// closes its store when the test ends, so every store passed is the
// server's own. A store's own HTTP tests (round trips per request, a
// server going down) can use NewApp, NewBrowser, Get and MustGet too.
//
// # Servers from the environment
//
// A store over a server (Redis, PostgreSQL) finds it through an
// environment variable: RequireEnv returns it, skips the test loudly when it
// is unset, and fails the test instead when CI is set. NewID and Context
// give tests on a shared backend fresh IDs and a bounded context.
//
// # Benchmarks
//
// BenchRead, BenchWrite, BenchTouch and BenchLockedWrite are benchmark
// bodies, so every store measures the same work:
//
//	func BenchmarkRead(b *testing.B) { storetest.BenchRead(b, newStore(b), make([]byte, 1024)) }
//
// # Counting calls
//
// Counting wraps any store, counts each kind of call (including reads and
// writes made through its locks) and, with Down set, fails every call the
// way a store that is down does. Tests of session managers and framework
// adapters use it to assert "no store call", "no write" or "one read".
package storetest
