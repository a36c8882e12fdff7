package storetest

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// capability is one of a store's optional methods, as the kit probes it.
type capability int

const (
	capRequired capability = iota - 1 // not optional: Read, Write, Destroy
	capTouch
	capExist
	capCreateID
	capGC
	capOpen
	capClose
	capLock
	capIndexUser
	capSwap
)

// supports reports whether s has capability c the way the Manager finds
// it: the method is there (type assertion) and, when a harmless call can
// tell, does not answer core.ErrNotSupported (a core.FuncStore without that
// function, a wrapper around a store without it). Open and Close are only
// asserted: calling them could change the store.
func supports(t testing.TB, s core.Store, c capability) bool {
	t.Helper()
	ctx, probeID := Context(t), NewID(t)
	var err error
	switch c {
	case capTouch:
		t, ok := s.(core.Toucher)
		if !ok {
			return false
		}
		err = t.Touch(ctx, probeID, time.Now().Add(time.Minute))
	case capExist:
		e, ok := s.(core.Exister)
		if !ok {
			return false
		}
		_, err = e.Exists(ctx, probeID)
	case capCreateID:
		g, ok := s.(core.IDCreator)
		if !ok {
			return false
		}
		_, err = g.CreateID(ctx)
	case capGC:
		g, ok := s.(core.Collector)
		if !ok {
			return false
		}
		_, err = g.GC(ctx, time.Time{}) // nothing expired before year 1
	case capOpen:
		_, ok := s.(core.Opener)
		return ok
	case capClose:
		_, ok := s.(io.Closer)
		return ok
	case capLock:
		l, ok := s.(core.Locker)
		if !ok {
			return false
		}
		var lock core.Lock
		if lock, err = l.Lock(ctx, probeID); err == nil && lock != nil {
			_ = lock.Unlock(ctx)
		}
	case capIndexUser:
		u, ok := s.(core.UserIndex)
		if !ok {
			return false
		}
		_, err = u.UserSessions(ctx, probeID)
	case capSwap:
		sw, ok := s.(core.Swapper)
		if !ok {
			return false
		}
		// old != nil over an absent record: ok=false, nothing written.
		_, err = sw.Swap(ctx, probeID, []byte("x"), []byte("y"), time.Now().Add(time.Minute))
	}
	return !errors.Is(err, core.ErrNotSupported)
}
