// Package memstore is sessionkit's default store: sessions in the memory of
// one process, gone when it exits.
//
// It has every capability a store can have except CreateID and Open: Read,
// Write and Destroy, Touch, Exists, GC, Lock (with reads and writes through
// the lock that a stale holder cannot use), Swap, Close and a user index.
// core.New uses it when it is given no store.
//
//	store := memstore.New(memstore.Options{})
//	m, err := core.New(store, core.Config{})
//
// Sessions are spread over shards, each with its own lock, so goroutines
// working on different sessions rarely wait for each other. Data is copied
// in and out: the store never keeps a caller's slice nor hands out its own.
// Expired sessions read as absent at once and take memory until GC removes
// them; the Manager's sweeper calls GC, which visits the shards in small
// chunks so that lookups are never held up by a sweep for long.
//
// A million sessions of 64 bytes with 43-character IDs take about 160 MiB
// of heap (TestMemoryMillionSessions holds the 256 MiB budget). Each session
// is one pointer-free allocation under its ID's hash, so the garbage
// collector's work stays small however many sessions the store holds.
//
// The package does not import core (core imports it); the compile-time
// checks that Store satisfies core's interfaces live in its tests.
package memstore
