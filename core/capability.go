package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"
)

// capability is a set of a store's optional methods that the Manager may
// call. It starts as what the store's type implements (for a FuncStore:
// the functions it was given) and loses a capability the first time the
// store answers ErrNotSupported for it; the Manager then falls back as if
// the method were absent.
type capability uint32

const (
	canTouch capability = 1 << iota
	canExist
	canCreateID
	canGC
	canOpen
	canClose
	canLock
	canIndexUser
	canSwap
)

// capabilityNames names each capability for logs and errors.
var capabilityNames = map[capability]string{
	canTouch: "Touch", canExist: "Exists", canCreateID: "CreateID", canGC: "GC",
	canOpen: "Open", canClose: "Close", canLock: "Lock", canIndexUser: "UserIndex", canSwap: "Swap",
}

// capabilitiesOf returns the optional methods s implements.
func capabilitiesOf(s Store) capability {
	if f, ok := s.(*funcStore); ok {
		return f.capabilities()
	}
	var c capability
	set := func(ok bool, bit capability) {
		if ok {
			c |= bit
		}
	}
	_, ok := s.(Toucher)
	set(ok, canTouch)
	_, ok = s.(Exister)
	set(ok, canExist)
	_, ok = s.(IDCreator)
	set(ok, canCreateID)
	_, ok = s.(Collector)
	set(ok, canGC)
	_, ok = s.(Opener)
	set(ok, canOpen)
	_, ok = s.(io.Closer)
	set(ok, canClose)
	_, ok = s.(Locker)
	set(ok, canLock)
	_, ok = s.(UserIndex)
	set(ok, canIndexUser)
	_, ok = s.(Swapper)
	set(ok, canSwap)
	return c
}

// capSet is a Manager's view of its store's capabilities, safe for
// concurrent use.
type capSet struct{ bits atomic.Uint32 }

func (c *capSet) init(caps capability) { c.bits.Store(uint32(caps)) }

// has reports whether the store still has every capability in want.
func (c *capSet) has(want capability) bool {
	return capability(c.bits.Load())&want == want
}

// drop removes gone and reports whether it was still there.
func (c *capSet) drop(gone capability) bool {
	for {
		old := c.bits.Load()
		if capability(old)&gone == 0 {
			return false
		}
		if c.bits.CompareAndSwap(old, old&^uint32(gone)) {
			return true
		}
	}
}

// unsupported reports whether err says the store does not support
// capability c after all (ErrNotSupported). The Manager then stops calling
// the method, logs that once, and the caller falls back as if the method
// were absent.
func (m *Manager) unsupported(ctx context.Context, err error, c capability) bool {
	if err == nil || !errors.Is(err, ErrNotSupported) {
		return false
	}
	if m.caps.drop(c) {
		m.log.LogAttrs(ctx, slog.LevelInfo, "sessionkit: the store does not support "+capabilityNames[c]+"; falling back",
			slog.String("store", fmt.Sprintf("%T", m.store)))
	}
	return true
}

// cannotLock is the error of a store whose Lock reports ErrNotSupported in
// locking mode: a configuration error (500 by default), logged once per
// Manager at ERROR, since every locked request will fail the same way.
func (m *Manager) cannotLock(ctx context.Context) error {
	err := errorf(ErrConfig, "Config.Locking needs a store that can lock; %T's Lock reports ErrNotSupported", m.store)
	if !m.noLockLogged.Swap(true) {
		m.log.LogAttrs(ctx, slog.LevelError, "sessionkit: the store cannot lock, but Config.Locking is set", slog.Any("error", err))
	}
	return err
}

// Funcs is a store written as plain functions, in the shape of PHP's
// session_set_save_handler callbacks, so a PHP handler can be ported one
// function at a time. Read, Write and Destroy are required; a nil optional
// function means the capability is absent: the Manager falls back (see the
// optional interfaces), and calling the method on the store returns an
// error wrapping ErrNotSupported.
type Funcs struct {
	Open     func(ctx context.Context) error
	Close    func() error
	Read     func(ctx context.Context, id string) ([]byte, bool, error)
	Write    func(ctx context.Context, id string, data []byte, expiry time.Time) error
	Destroy  func(ctx context.Context, id string) error
	GC       func(ctx context.Context, now time.Time) (int, error)
	CreateID func(ctx context.Context) (string, error)
	Exists   func(ctx context.Context, id string) (bool, error)
	Touch    func(ctx context.Context, id string, expiry time.Time) error
}

// FuncStore turns f into a Store. It fails when a required function is nil.
func FuncStore(f Funcs) (Store, error) {
	if f.Read == nil || f.Write == nil || f.Destroy == nil {
		return nil, errorf(ErrConfig, "core.Funcs needs Read, Write and Destroy")
	}
	return &funcStore{f: f}, nil
}

type funcStore struct{ f Funcs }

var (
	_ Store     = (*funcStore)(nil)
	_ Toucher   = (*funcStore)(nil)
	_ Exister   = (*funcStore)(nil)
	_ IDCreator = (*funcStore)(nil)
	_ Collector = (*funcStore)(nil)
	_ Opener    = (*funcStore)(nil)
	_ io.Closer = (*funcStore)(nil)
)

// capabilities is what f's functions provide: core knows its own type, so
// it never calls a method only to learn that it is not supported.
func (s *funcStore) capabilities() capability {
	var c capability
	set := func(ok bool, bit capability) {
		if ok {
			c |= bit
		}
	}
	set(s.f.Touch != nil, canTouch)
	set(s.f.Exists != nil, canExist)
	set(s.f.CreateID != nil, canCreateID)
	set(s.f.GC != nil, canGC)
	set(s.f.Open != nil, canOpen)
	set(s.f.Close != nil, canClose)
	return c
}

func (s *funcStore) Read(ctx context.Context, id string) ([]byte, bool, error) {
	return s.f.Read(ctx, id)
}

func (s *funcStore) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	return s.f.Write(ctx, id, data, expiry)
}

func (s *funcStore) Destroy(ctx context.Context, id string) error { return s.f.Destroy(ctx, id) }

// The optional methods below wrap ErrNotSupported when their function is
// nil (Open and Close then have nothing to do and succeed).

func (s *funcStore) Touch(ctx context.Context, id string, expiry time.Time) error {
	if s.f.Touch == nil {
		return errorf(ErrNotSupported, "core.Funcs has no Touch")
	}
	return s.f.Touch(ctx, id, expiry)
}

func (s *funcStore) Exists(ctx context.Context, id string) (bool, error) {
	if s.f.Exists == nil {
		return false, errorf(ErrNotSupported, "core.Funcs has no Exists")
	}
	return s.f.Exists(ctx, id)
}

func (s *funcStore) CreateID(ctx context.Context) (string, error) {
	if s.f.CreateID == nil {
		return "", errorf(ErrNotSupported, "core.Funcs has no CreateID")
	}
	return s.f.CreateID(ctx)
}

func (s *funcStore) GC(ctx context.Context, now time.Time) (int, error) {
	if s.f.GC == nil {
		return 0, errorf(ErrNotSupported, "core.Funcs has no GC")
	}
	return s.f.GC(ctx, now)
}

func (s *funcStore) Open(ctx context.Context) error {
	if s.f.Open == nil {
		return nil
	}
	return s.f.Open(ctx)
}

func (s *funcStore) Close() error {
	if s.f.Close == nil {
		return nil
	}
	return s.f.Close()
}
