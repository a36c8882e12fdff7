package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// Seed is one session record that UserIndexAtScale writes straight into
// the store: Data under ID until Expiry, bound to User in the store's user
// index.
type Seed struct {
	ID, User string
	Data     []byte
	Expiry   time.Time
}

// seedBatch is how many records UserIndexAtScale hands to one seed call.
const seedBatch = 5000

// targetSessions is how many sessions the target user of UserIndexAtScale
// has.
const targetSessions = 10

// UserIndexAtScale checks that "log out everywhere" costs what the user
// has, not what the store holds. It fills store with others records of
// other users (others/10 users with ten sessions each, bound in the user
// index), then, with locking off and — when the store can lock — on, binds
// ten sessions to a target user through a core.Manager (Session.SetUser,
// Commit) and calls Manager.DestroyUser for that user. DestroyUser must
// return exactly 10, the ten sessions must be gone (their tokens load
// empty sessions) and so must the user's index entries; the store calls
// DestroyUser makes are counted and must stay a small multiple of ten,
// whatever others is. Finally every other record must still read back
// intact and a sample of the other users must still have their ten
// sessions in the index. The time DestroyUser took is logged.
//
// seed writes one batch of records with their index entries the fastest
// way the store knows — a pipeline, one transaction through the store's
// own database handle; it is called from up to four goroutines at once.
// With seed nil every record is written with Write and AddUserSession,
// many at a time. store must have the UserIndex
// capability; the records it gets carry fresh random IDs and user names,
// so a shared backend is fine.
func UserIndexAtScale(t *testing.T, store core.Store, others int, seed func(ctx context.Context, batch []Seed) error) {
	t.Helper()
	if !supports(t, store, capIndexUser) {
		t.Fatalf("storetest: %T has no UserIndex capability", store)
	}
	ctx := Context(t) // for seeding; every subtest has its own minute
	run := runTag(t)
	seeds := make([]Seed, others)
	expiry := time.Now().Add(time.Hour)
	for i := range seeds {
		seeds[i] = Seed{
			ID:     NewID(t),
			User:   fmt.Sprintf("other-%s-%d", run, i/targetSessions),
			Data:   []byte(fmt.Sprintf("other session %d", i)),
			Expiry: expiry,
		}
	}
	if seed == nil {
		seed = func(ctx context.Context, batch []Seed) error { return seedEach(ctx, store, batch) }
	}
	start := time.Now()
	batches := (len(seeds) + seedBatch - 1) / seedBatch
	if err := parallel(4, batches, func(i int) error {
		return seed(ctx, seeds[i*seedBatch:min((i+1)*seedBatch, len(seeds))])
	}); err != nil {
		t.Fatalf("storetest: seeding the other users' sessions: %v", err)
	}
	t.Logf("seeded %d sessions of %d other users in %v", others, (others+targetSessions-1)/targetSessions, time.Since(start).Round(time.Millisecond))

	for _, locking := range []bool{false, true} {
		if locking && !supports(t, store, capLock) {
			continue
		}
		t.Run(fmt.Sprintf("Locking=%v", locking), func(t *testing.T) {
			destroyUserAmong(Context(t), t, store, locking, others, "target-"+run)
		})
	}

	t.Run("OthersIntact", func(t *testing.T) {
		ctx := Context(t)
		if err := checkSeeds(ctx, store, seeds); err != nil {
			t.Fatal(err)
		}
		// A hundred of the other users, spread over the whole seed.
		idx := store.(core.UserIndex)
		users := (len(seeds) + targetSessions - 1) / targetSessions
		for u := 0; u < users; u += max(users/100, 1) {
			ids, err := idx.UserSessions(ctx, seeds[u*targetSessions].User)
			if err != nil {
				t.Fatalf("UserSessions: %v", err)
			}
			if want := min(targetSessions, len(seeds)-u*targetSessions); len(ids) != want {
				t.Fatalf("UserSessions of an other user lists %d sessions, want %d", len(ids), want)
			}
		}
	})
}

// destroyUserAmong binds ten sessions to user through a Manager and ends
// them with DestroyUser.
func destroyUserAmong(ctx context.Context, t *testing.T, store core.Store, locking bool, others int, user string) {
	counted := NewCounting(store)
	m, err := core.New(counted, core.Config{
		Keys:        appKeys,
		Locking:     locking,
		LockTimeout: appLockTimeout,
		GCInterval:  -1, // the others must stay put
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("storetest: core.New: %v", err)
	}
	defer m.Close()
	cookies := make([]string, targetSessions)
	for i := range cookies {
		s := m.Adapter().Load(ctx, http.Header{})
		s.SetUser(user)
		s.Set("n", i)
		h := http.Header{}
		if err := m.Adapter().Commit(ctx, s, h); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		m.Adapter().Release(s)
		cookies[i], _, _ = strings.Cut(h.Get("Set-Cookie"), ";")
	}
	infos, err := m.UserSessions(ctx, user)
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	if len(infos) != targetSessions {
		t.Fatalf("Manager.UserSessions lists %d sessions, want %d", len(infos), targetSessions)
	}

	before := counted.Calls()
	start := time.Now()
	n, err := m.DestroyUser(ctx, user)
	took := time.Since(start)
	calls := counted.Calls() - before
	if err != nil {
		t.Fatalf("DestroyUser: %v", err)
	}
	t.Logf("DestroyUser ended %d sessions among %d others in %v (%d store calls)", n, others, took.Round(time.Microsecond), calls)
	if n != targetSessions {
		t.Fatalf("DestroyUser = %d, want %d", n, targetSessions)
	}
	// Reading, locking or swapping and deleting each session is a handful
	// of calls; a store or Manager that walks the sessions makes thousands.
	if limit := int64(8 * targetSessions); calls > limit {
		t.Fatalf("DestroyUser made %d store calls for %d sessions, want at most %d", calls, targetSessions, limit)
	}
	for i, c := range cookies {
		s := m.Adapter().Load(ctx, http.Header{"Cookie": {c}})
		got, _ := core.Get[int](s, "n")
		u := s.User()
		m.Adapter().Release(s)
		if err := s.Err(); err != nil {
			t.Fatalf("loading session %d after DestroyUser: %v", i, err)
		}
		if u != "" || got != 0 {
			t.Fatalf("session %d survived DestroyUser: user %q, n=%d", i, u, got)
		}
	}
	ids, err := store.(core.UserIndex).UserSessions(ctx, user)
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	if len(ids) != 0 {
		t.Fatalf("the user index still lists %d sessions after DestroyUser", len(ids))
	}
}

// seedEach writes batch with Write and AddUserSession, 16 goroutines at a
// time.
func seedEach(ctx context.Context, store core.Store, batch []Seed) error {
	idx := store.(core.UserIndex)
	return parallel(16, len(batch), func(i int) error {
		s := batch[i]
		if err := store.Write(ctx, s.ID, s.Data, s.Expiry); err != nil {
			return err
		}
		return idx.AddUserSession(ctx, s.User, s.ID, s.Expiry)
	})
}

// checkSeeds reads every seeded record back, 16 goroutines at a time.
func checkSeeds(ctx context.Context, store core.Store, seeds []Seed) error {
	return parallel(16, len(seeds), func(i int) error {
		data, found, err := store.Read(ctx, seeds[i].ID)
		switch {
		case err != nil:
			return fmt.Errorf("Read of other session %d: %w", i, err)
		case !found:
			return fmt.Errorf("other session %d is gone", i)
		case string(data) != string(seeds[i].Data):
			return fmt.Errorf("other session %d holds %s, want %s", i, describe(data), describe(seeds[i].Data))
		}
		return nil
	})
}

// parallel runs f(0) … f(n-1) on workers goroutines and returns the first
// error.
func parallel(workers, n int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// runTag returns a short random tag that keeps this run's user names
// apart from other runs on a shared backend.
func runTag(t testing.TB) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("storetest: crypto/rand: %v", err)
	}
	return hex.EncodeToString(b[:])
}
