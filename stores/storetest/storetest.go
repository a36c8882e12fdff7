package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// Option tells Run about the store under test.
type Option func(*config)

type config struct {
	lockTTL time.Duration
}

// LockTTL tells Run the lock TTL the factory configured. With it, the Lock
// subtests also hold a lock past its TTL and check that a waiter recovers
// it and that the stale holder's LockedWriter refuses to write with
// core.ErrLockLost. Keep the TTL short (a few hundred milliseconds) so the
// run stays fast; stores whose locks have no TTL (flock, advisory locks
// tied to a connection) leave it out.
func LockTTL(d time.Duration) Option {
	return func(c *config) { c.lockTTL = d }
}

// Run runs the conformance subtests against the stores newStore returns.
// Every subtest calls newStore once; newStore registers its own cleanup
// with t.Cleanup and fails t when it cannot build a store.
func Run(t *testing.T, newStore func(t *testing.T) core.Store, opts ...Option) {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	k := &kit{newStore: newStore, cfg: cfg}
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"MissingID", k.missingID},
		{"RoundTrip", k.roundTrip},
		{"BinaryData", k.binaryData},
		{"Overwrite", k.overwrite},
		{"EmptyVsAbsent", k.emptyVsAbsent},
		{"DestroyAbsent", k.destroyAbsent},
		{"Expiry", k.expiry},
		{"NoAliasing", k.noAliasing},
		{"CancelledContext", k.cancelledContext},
		{"Concurrent", k.concurrent},
		{"Touch", k.touch},
		{"Exists", k.exists},
		{"CreateID", k.createID},
		{"GC", k.gc},
		{"Lock", k.lock},
		{"Swap", k.swap},
		{"Open", k.open},
		{"Close", k.close},
		{"UserIndex", k.userIndex},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

type kit struct {
	newStore func(t *testing.T) core.Store
	cfg      config
}

// store returns a fresh store for t, failing t if the factory returned nil.
func (k *kit) store(t *testing.T) core.Store {
	t.Helper()
	s := k.newStore(t)
	if s == nil {
		t.Fatal("storetest: the factory returned a nil store")
	}
	return s
}

// storeWith returns a fresh store for t and skips t when it lacks c.
func (k *kit) storeWith(t *testing.T, c capability, name string) core.Store {
	t.Helper()
	s := k.store(t)
	if !supports(t, s, c) {
		t.Skip("store has no " + name)
	}
	return s
}

// opTimeout bounds one lock wait or one goroutine's store call.
const opTimeout = 10 * time.Second

// cancelledContext returns a context that is already cancelled.
func cancelledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("storetest: crypto/rand: %v", err)
	}
	return b
}

// later is an expiry far enough ahead that no subtest outlives it.
func later() time.Time { return time.Now().Add(time.Hour) }

// past is an expiry that has already passed.
func past() time.Time { return time.Now().Add(-time.Hour) }

func mustWrite(ctx context.Context, t *testing.T, s core.Store, id string, data []byte, expiry time.Time) {
	t.Helper()
	if err := s.Write(ctx, id, data, expiry); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func mustRead(ctx context.Context, t *testing.T, s core.Store, id string) ([]byte, bool) {
	t.Helper()
	data, found, err := s.Read(ctx, id)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return data, found
}

func mustDestroy(ctx context.Context, t *testing.T, s core.Store, id string) {
	t.Helper()
	if err := s.Destroy(ctx, id); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
}

// wantData fails t unless id holds exactly want.
func wantData(ctx context.Context, t *testing.T, s core.Store, id string, want []byte) {
	t.Helper()
	got, found := mustRead(ctx, t, s, id)
	if !found {
		t.Fatalf("Read: found=false, want a record of %d bytes", len(want))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Read: got %s, want %s", describe(got), describe(want))
	}
}

// wantAbsent fails t unless id reads as absent.
func wantAbsent(ctx context.Context, t *testing.T, s core.Store, id string) {
	t.Helper()
	got, found := mustRead(ctx, t, s, id)
	if found {
		t.Fatalf("Read: found=true (%s), want absent", describe(got))
	}
}

// describe renders data for a failure message without flooding the log.
func describe(b []byte) string {
	const max = 64
	if len(b) <= max {
		return strconv.Quote(string(b))
	}
	return strconv.Quote(string(b[:max])) + "…(" + strconv.Itoa(len(b)) + " bytes)"
}
