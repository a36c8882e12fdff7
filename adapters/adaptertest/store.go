package adaptertest

import "github.com/sessionkit/sessionkit/stores/storetest"

// counts is a snapshot of the store calls the suite asserts on: reads
// (Read, Exists, through a lock), writes (Write, Swap, through a lock),
// touches and destroys.
type counts struct{ reads, writes, touches, destroys int64 }

func snapshot(s *storetest.Counting) counts {
	return counts{s.ReadsAll(), s.WritesAll(), s.Touches.Load(), s.Destroys.Load()}
}
