package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// buggyEnv names the bug TestBuggyStoreChild plants in its store.
const buggyEnv = "STORETEST_BUGGY_STORE"

// buggy is a memstore with one planted bug, to prove the kit notices it.
type buggy struct {
	*memstore.Store
	bug string

	mu       sync.Mutex
	retained map[string][]byte
}

func (b *buggy) Read(ctx context.Context, id string) ([]byte, bool, error) {
	switch b.bug {
	case "MissingIsError":
		data, found, err := b.Store.Read(ctx, id)
		if err == nil && !found {
			err = errors.New("not found")
		}
		return data, found, err
	case "IgnoresCancel":
		return b.Store.Read(context.Background(), id)
	case "RetainsSlice":
		b.mu.Lock()
		defer b.mu.Unlock()
		data, ok := b.retained[id]
		return data, ok, nil
	}
	return b.Store.Read(ctx, id)
}

func (b *buggy) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	switch b.bug {
	case "RetainsSlice":
		b.mu.Lock()
		defer b.mu.Unlock()
		b.retained[id] = data
		return nil
	case "NoExpiry":
		expiry = time.Now().Add(time.Hour)
	}
	return b.Store.Write(ctx, id, data, expiry)
}

func (b *buggy) Touch(ctx context.Context, id string, expiry time.Time) error {
	if b.bug == "TouchCreates" {
		if _, found, _ := b.Store.Read(ctx, id); !found {
			return b.Store.Write(ctx, id, nil, expiry)
		}
	}
	return b.Store.Touch(ctx, id, expiry)
}

func (b *buggy) Swap(ctx context.Context, id string, old, new []byte, expiry time.Time) (bool, error) {
	if b.bug == "SwapResurrects" && old != nil {
		if _, found, _ := b.Store.Read(ctx, id); !found {
			return true, b.Store.Write(ctx, id, new, expiry)
		}
	}
	return b.Store.Swap(ctx, id, old, new, expiry)
}

func (b *buggy) Destroy(ctx context.Context, id string) error {
	if b.bug == "DestroyIgnored" {
		return ctx.Err()
	}
	return b.Store.Destroy(ctx, id)
}

func (b *buggy) Lock(ctx context.Context, id string) (core.Lock, error) {
	switch b.bug {
	case "LockNotExclusive":
		return noLock{}, nil
	case "StaleWriteAccepted":
		l, err := b.Store.Lock(ctx, id)
		if err != nil {
			return nil, err
		}
		return blindLock{Lock: l, s: b.Store, id: id}, nil
	}
	return b.Store.Lock(ctx, id)
}

type noLock struct{}

func (noLock) Unlock(context.Context) error { return nil }

// blindLock writes whether or not it still holds the lock.
type blindLock struct {
	core.Lock
	s  core.Store
	id string
}

func (l blindLock) Write(ctx context.Context, data []byte, expiry time.Time) error {
	return l.s.Write(ctx, l.id, data, expiry)
}

// TestBuggyStoreChild runs the kit against a buggy store when
// TestKitCatchesBugs starts it in a child process; otherwise it does
// nothing.
func TestBuggyStoreChild(t *testing.T) {
	bug := os.Getenv(buggyEnv)
	if bug == "" {
		return
	}
	const ttl = 300 * time.Millisecond
	newBuggy := func(t *testing.T) *buggy {
		s := memstore.New(memstore.Options{LockTTL: ttl})
		t.Cleanup(func() { s.Close() })
		return &buggy{Store: s, bug: bug, retained: make(map[string][]byte)}
	}
	storetest.Run(t, func(t *testing.T) core.Store { return newBuggy(t) }, storetest.LockTTL(ttl))
	t.Run("HTTP", func(t *testing.T) {
		t.Run("ConcurrentIncrements", func(t *testing.T) {
			s := newBuggy(t)
			storetest.ConcurrentIncrements(t, 20, 100, s, s)
		})
		t.Run("TwoAppServers", func(t *testing.T) {
			storetest.TwoAppServers(t, func(t *testing.T) (core.Store, core.Store) {
				s := newBuggy(t)
				return s, s
			})
		})
	})
}

// TestKitCatchesBugs plants one bug at a time in a store and checks that
// the subtest meant to catch it fails, while the same subtest passes
// against the store without the bug.
func TestKitCatchesBugs(t *testing.T) {
	tests := []struct {
		bug     string
		subtest string
	}{
		{"MissingIsError", "MissingID"},
		{"IgnoresCancel", "CancelledContext"},
		{"RetainsSlice", "NoAliasing"},
		{"NoExpiry", "Expiry/Past"},
		{"TouchCreates", "Touch/Absent"},
		{"SwapResurrects", "Swap/AfterDestroy"},
		{"LockNotExclusive", "Lock/MutualExclusion"},
		{"LockNotExclusive", "GC/KeepsLocked"},
		{"StaleWriteAccepted", "Lock/DeadHolderRecovered"},
		{"LockNotExclusive", "HTTP/ConcurrentIncrements"},
		{"DestroyIgnored", "HTTP/TwoAppServers"},
	}
	for _, tt := range tests {
		t.Run(tt.bug+"/"+tt.subtest, func(t *testing.T) {
			t.Parallel()
			if out, err := runChild(t, "none", tt.subtest); err != nil {
				t.Fatalf("%s fails against the store without bugs: %v\n%s", tt.subtest, err, out)
			}
			out, err := runChild(t, tt.bug, tt.subtest)
			if err == nil {
				t.Fatalf("%s passes against a store with bug %s:\n%s", tt.subtest, tt.bug, out)
			}
			if want := "--- FAIL: TestBuggyStoreChild/" + tt.subtest; !strings.Contains(out, want) {
				t.Fatalf("the child failed, but not in %s:\n%s", tt.subtest, out)
			}
		})
	}
}

// runChild runs one kit subtest in a child process against a store with
// the given bug ("none" for no bug).
func runChild(t *testing.T, bug, subtest string) (string, error) {
	t.Helper()
	pattern := "^TestBuggyStoreChild$"
	for _, part := range strings.Split(subtest, "/") {
		pattern += "/^" + part + "$"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+pattern, "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), buggyEnv+"="+bug)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
