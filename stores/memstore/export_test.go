package memstore

import "time"

// NewWithClock is New with now as the store's clock for expiry and lock
// deadlines, so that tests control time.
func NewWithClock(opts Options, now func() time.Time) *Store {
	s := New(opts)
	s.now = now
	return s
}
