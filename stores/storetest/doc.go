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
// Each optional capability that core.Capabilities reports (Touch, Exists,
// CreateID, GC, Lock, Swap, Open, Close, UserIndex) has its own subtest; a
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
package storetest
