package memstore

import "time"

// NewWithClock is New with now as the store's clock for expiry and lock
// deadlines, so that tests control time.
func NewWithClock(opts Options, now func() time.Time) *Store {
	s := New(opts)
	s.now = now
	return s
}

// NewColliding is New with every ID hashing alike, so that every session
// but one per shard takes the collision path.
func NewColliding(opts Options) *Store {
	s := New(opts)
	s.hashMask = 0
	return s
}
