package core

import (
	"context"
	"io"
	"time"
)

// Capability is a set of the optional store capabilities.
type Capability uint16

// The optional capabilities of a Store.
const (
	CanTouch     Capability = 1 << iota // Toucher
	CanExist                            // Exister
	CanCreateID                         // IDCreator
	CanGC                               // Collector
	CanOpen                             // Opener
	CanClose                            // io.Closer
	CanLock                             // Locker
	CanIndexUser                        // UserIndex
	CanSwap                             // Swapper
)

// CapabilityReporter is implemented by stores whose methods exist but may be
// inert — a store built from functions, or a wrapper around another store.
// The reported set is intersected with what the type implements.
type CapabilityReporter interface {
	Capabilities() Capability
}

// Capabilities returns the optional capabilities s really has.
func Capabilities(s Store) Capability {
	var c Capability
	if _, ok := s.(Toucher); ok {
		c |= CanTouch
	}
	if _, ok := s.(Exister); ok {
		c |= CanExist
	}
	if _, ok := s.(IDCreator); ok {
		c |= CanCreateID
	}
	if _, ok := s.(Collector); ok {
		c |= CanGC
	}
	if _, ok := s.(Opener); ok {
		c |= CanOpen
	}
	if _, ok := s.(io.Closer); ok {
		c |= CanClose
	}
	if _, ok := s.(Locker); ok {
		c |= CanLock
	}
	if _, ok := s.(UserIndex); ok {
		c |= CanIndexUser
	}
	if _, ok := s.(Swapper); ok {
		c |= CanSwap
	}
	if r, ok := s.(CapabilityReporter); ok {
		c &= r.Capabilities()
	}
	return c
}

// Has reports whether c includes every capability in want.
func (c Capability) Has(want Capability) bool { return c&want == want }

// Funcs is a store written as plain functions, in the shape of PHP's
// session_set_save_handler callbacks, so a PHP handler can be ported one
// function at a time. Read, Write and Destroy are required; a nil optional
// function means the capability is absent and the Manager falls back.
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
	_ Store              = (*funcStore)(nil)
	_ Toucher            = (*funcStore)(nil)
	_ Exister            = (*funcStore)(nil)
	_ IDCreator          = (*funcStore)(nil)
	_ Collector          = (*funcStore)(nil)
	_ Opener             = (*funcStore)(nil)
	_ io.Closer          = (*funcStore)(nil)
	_ CapabilityReporter = (*funcStore)(nil)
)

func (s *funcStore) Capabilities() Capability {
	var c Capability
	set := func(ok bool, bit Capability) {
		if ok {
			c |= bit
		}
	}
	set(s.f.Touch != nil, CanTouch)
	set(s.f.Exists != nil, CanExist)
	set(s.f.CreateID != nil, CanCreateID)
	set(s.f.GC != nil, CanGC)
	set(s.f.Open != nil, CanOpen)
	set(s.f.Close != nil, CanClose)
	return c
}

func (s *funcStore) Read(ctx context.Context, id string) ([]byte, bool, error) {
	return s.f.Read(ctx, id)
}

func (s *funcStore) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	return s.f.Write(ctx, id, data, expiry)
}

func (s *funcStore) Destroy(ctx context.Context, id string) error { return s.f.Destroy(ctx, id) }

// The optional methods below are only called when Capabilities reports them;
// calling one directly on an absent capability is still safe.

func (s *funcStore) Touch(ctx context.Context, id string, expiry time.Time) error {
	if s.f.Touch == nil {
		return errorf(ErrConfig, "core.Funcs has no Touch")
	}
	return s.f.Touch(ctx, id, expiry)
}

func (s *funcStore) Exists(ctx context.Context, id string) (bool, error) {
	if s.f.Exists == nil {
		_, found, err := s.f.Read(ctx, id)
		return found, err
	}
	return s.f.Exists(ctx, id)
}

func (s *funcStore) CreateID(ctx context.Context) (string, error) {
	if s.f.CreateID == nil {
		return "", errorf(ErrConfig, "core.Funcs has no CreateID")
	}
	return s.f.CreateID(ctx)
}

func (s *funcStore) GC(ctx context.Context, now time.Time) (int, error) {
	if s.f.GC == nil {
		return 0, nil
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
