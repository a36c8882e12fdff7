package storetest_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// mapStore is the simplest store there is, written as the plain functions
// of core.Funcs the way a ported PHP save handler would be.
type mapStore struct {
	mu     sync.Mutex
	m      map[string]record
	opened bool
}

type record struct {
	data   []byte
	expiry time.Time
}

func newMapStore() *mapStore { return &mapStore{m: make(map[string]record)} }

func (s *mapStore) live(id string, now time.Time) (record, bool) {
	r, ok := s.m[id]
	return r, ok && now.Before(r.expiry)
}

func (s *mapStore) read(ctx context.Context, id string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.live(id, time.Now())
	if !ok {
		return nil, false, nil
	}
	return append([]byte{}, r.data...), true, nil
}

func (s *mapStore) write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = record{data: append([]byte{}, data...), expiry: expiry}
	return nil
}

func (s *mapStore) destroy(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

func (s *mapStore) gc(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, r := range s.m {
		if !now.Before(r.expiry) {
			delete(s.m, id)
			n++
		}
	}
	return n, nil
}

func (s *mapStore) exists(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.live(id, time.Now())
	return ok, nil
}

func (s *mapStore) touch(ctx context.Context, id string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.live(id, time.Now()); ok {
		r.expiry = expiry
		s.m[id] = r
	}
	return nil
}

func createID(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	// Base64url without padding, with '_' mapped into PHP's alphabet.
	return strings.ReplaceAll(base64.RawURLEncoding.EncodeToString(b), "_", ","), nil
}

func (s *mapStore) open(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened = true
	return ctx.Err()
}

func (s *mapStore) close() error { return nil }

// TestMemstore runs the kit against the default store, which has every
// capability, with a short lock TTL so the lost-lock subtests run too.
func TestMemstore(t *testing.T) {
	const ttl = 300 * time.Millisecond
	storetest.Run(t, func(t *testing.T) core.Store {
		s := memstore.New(memstore.Options{LockTTL: ttl})
		t.Cleanup(func() { s.Close() })
		return s
	}, storetest.LockTTL(ttl))
}

// TestCounting runs the kit against the counting wrapper the Manager's and
// the adapters' tests use: it must be a faithful store itself, and count.
func TestCounting(t *testing.T) {
	const ttl = 300 * time.Millisecond
	storetest.Run(t, func(t *testing.T) core.Store {
		s := memstore.New(memstore.Options{LockTTL: ttl})
		t.Cleanup(func() { s.Close() })
		return storetest.NewCounting(s)
	}, storetest.LockTTL(ttl))
	c := storetest.NewCounting(memstore.New(memstore.Options{}))
	ctx := context.Background()
	id := storetest.NewID(t)
	c.Write(ctx, id, []byte("x"), time.Now().Add(time.Minute))
	c.Read(ctx, id)
	c.Down.Store(true)
	if _, _, err := c.Read(ctx, id); !errors.Is(err, storetest.ErrDown) {
		t.Fatalf("Read of a down store: %v", err)
	}
	if c.Writes.Load() != 1 || c.Reads.Load() != 2 || c.Calls() != 3 {
		t.Fatalf("counted writes %d reads %d calls %d", c.Writes.Load(), c.Reads.Load(), c.Calls())
	}
}

// TestFuncStoreFull runs the kit against a store built from every function
// core.Funcs offers.
func TestFuncStoreFull(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store {
		m := newMapStore()
		s, err := core.FuncStore(core.Funcs{
			Open:     m.open,
			Close:    m.close,
			Read:     m.read,
			Write:    m.write,
			Destroy:  m.destroy,
			GC:       m.gc,
			CreateID: createID,
			Exists:   m.exists,
			Touch:    m.touch,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestFuncStoreMinimal runs the kit against a store of only the three
// required functions: every capability subtest must skip, not fail.
func TestFuncStoreMinimal(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store {
		m := newMapStore()
		s, err := core.FuncStore(core.Funcs{Read: m.read, Write: m.write, Destroy: m.destroy})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.(core.Toucher).Touch(context.Background(), storetest.NewID(t), time.Now()); !errors.Is(err, core.ErrNotSupported) {
			t.Fatalf("Touch of a store without the function: err = %v, want core.ErrNotSupported", err)
		}
		return s
	})
}

// TestSharedStore hands every subtest the same store, as a real Redis
// shared by the whole run would be: fresh IDs keep the subtests apart.
func TestSharedStore(t *testing.T) {
	m := newMapStore()
	s, err := core.FuncStore(core.Funcs{Read: m.read, Write: m.write, Destroy: m.destroy, GC: m.gc, Exists: m.exists, Touch: m.touch})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T) core.Store { return s })
}
