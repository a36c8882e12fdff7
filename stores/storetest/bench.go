package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// The Bench functions are the bodies of a store's benchmarks, so the same
// operation costs the same work in every store and their numbers compare:
//
//	func BenchmarkRead(b *testing.B) { storetest.BenchRead(b, newStore(b), make([]byte, 1024)) }
//
// Each writes data under a fresh NewID first, reports allocations and times
// only the loop. data must not be empty.

// BenchRead measures Read of a live record holding data.
func BenchRead(b *testing.B, s core.Store, data []byte) {
	ctx, id := benchRecord(b, s, data)
	benchLoop(b, func() error {
		if _, found, err := s.Read(ctx, id); err != nil || !found {
			return fmt.Errorf("read: found=%v, err=%v", found, err)
		}
		return nil
	})
}

// BenchWrite measures Write of data over an existing record (an upsert).
func BenchWrite(b *testing.B, s core.Store, data []byte) {
	ctx, id := benchRecord(b, s, data)
	expiry := time.Now().Add(time.Hour)
	benchLoop(b, func() error { return s.Write(ctx, id, data, expiry) })
}

// BenchTouch measures Touch of a live record holding data; s must have
// the Touch capability.
func BenchTouch(b *testing.B, s core.Store, data []byte) {
	toucher, ok := s.(core.Toucher)
	if !ok {
		b.Fatalf("storetest: %T has no Touch", s)
	}
	ctx, id := benchRecord(b, s, data)
	expiry := time.Now().Add(2 * time.Hour)
	benchLoop(b, func() error { return toucher.Touch(ctx, id, expiry) })
}

// BenchLockedWrite measures one locking-mode request that changes the
// session: Lock, read through the lock, write the changed record back
// through it, Unlock. s must have the Lock capability; a lock that does not
// read or write itself is read and written through s while held, as core
// does.
func BenchLockedWrite(b *testing.B, s core.Store, data []byte) {
	locker, ok := s.(core.Locker)
	if !ok {
		b.Fatalf("storetest: %T has no Lock", s)
	}
	ctx, id := benchRecord(b, s, data)
	expiry := time.Now().Add(time.Hour)
	benchLoop(b, func() error {
		l, err := locker.Lock(ctx, id)
		if err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		var got []byte
		var found bool
		if r, ok := l.(core.LockedReader); ok {
			got, found, err = r.Read(ctx)
		} else {
			got, found, err = s.Read(ctx, id)
		}
		if err != nil || !found || len(got) == 0 {
			return fmt.Errorf("read under the lock: %d bytes, found=%v, err=%v", len(got), found, err)
		}
		got[0]++
		if w, ok := l.(core.LockedWriter); ok {
			err = w.Write(ctx, got, expiry)
		} else {
			err = s.Write(ctx, id, got, expiry)
		}
		if err != nil {
			return fmt.Errorf("write under the lock: %w", err)
		}
		return l.Unlock(ctx)
	})
}

// benchRecord writes data under a fresh ID and returns the context of the
// benchmark's calls and the ID.
func benchRecord(b *testing.B, s core.Store, data []byte) (context.Context, string) {
	b.Helper()
	if len(data) == 0 {
		b.Fatal("storetest: benchmark data must not be empty")
	}
	ctx := context.Background()
	id := NewID(b)
	if err := s.Write(ctx, id, data, time.Now().Add(time.Hour)); err != nil {
		b.Fatalf("Write: %v", err)
	}
	return ctx, id
}

// benchLoop times b.N calls of op, reporting allocations, and stops at the
// first error.
func benchLoop(b *testing.B, op func() error) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
}
