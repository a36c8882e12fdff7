package filestore_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/filestore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// indexScale is how many sessions of other users TestUserIndexAtScale
// seeds: 10⁵, as for the other stores, outside -race; under -race (which
// CI runs) 10⁴, where seeding 10⁵ files takes over a minute on its own.
func indexScale() int {
	if raceEnabled {
		return 10_000
	}
	return 100_000
}

// TestUserIndexAtScale: DestroyUser ends exactly the target's ten sessions
// among indexScale() sessions of other users, with a bounded number of
// store calls, and leaves every other session and index entry alone.
func TestUserIndexAtScale(t *testing.T) {
	storetest.UserIndexAtScale(t, newStore(t, filestore.Options{}), indexScale(), nil)
}

// TestUserIndexAtScaleDepth2 is the same at a smaller scale in PHP's
// "2;/path" layout.
func TestUserIndexAtScaleDepth2(t *testing.T) {
	storetest.UserIndexAtScale(t, newStore(t, filestore.Options{Depth: 2}), 1000, nil)
}

// bind writes session id and binds it to user in the index.
func bind(ctx context.Context, t *testing.T, s *filestore.Store, user, id string) {
	t.Helper()
	expiry := time.Now().Add(time.Hour)
	if err := s.Write(ctx, id, []byte("bound to "+user), expiry); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUserSession(ctx, user, id, expiry); err != nil {
		t.Fatal(err)
	}
}

// listed returns user's indexed sessions, sorted.
func listed(ctx context.Context, t *testing.T, s *filestore.Store, user string) []string {
	t.Helper()
	ids, err := s.UserSessions(ctx, user)
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	slices.Sort(ids)
	return ids
}

// indexFiles returns the paths of every file under the index directory,
// relative to dir.
func indexFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, ".u"), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUserIndexBehindPHPGC: PHP's GC deletes sess_ files without a word to
// the index. UserSessions no longer lists them and drops their entries;
// GC drops the entries of sessions nobody lists, and the empty user
// directories with them.
func TestUserIndexBehindPHPGC(t *testing.T) {
	ctx := context.Background()
	for _, depth := range []int{0, 2} {
		t.Run(map[int]string{0: "Flat", 2: "Depth2"}[depth], func(t *testing.T) {
			s := newStore(t, filestore.Options{Depth: depth})
			ids := []string{"aaaaBindOne0000000000", "bbbbBindTwo0000000000", "ccccBindThree00000000"}
			for _, id := range ids {
				bind(ctx, t, s, "alice", id)
			}
			bind(ctx, t, s, "bob", "ddddBobOnly0000000000")
			phpGC := func(id string) {
				path := filepath.Join(s.Dir(), "sess_"+id)
				if depth == 2 {
					path = filepath.Join(s.Dir(), id[:1], id[1:2], "sess_"+id)
				}
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			}
			phpGC(ids[0])
			phpGC("ddddBobOnly0000000000")
			entries := len(indexFiles(t, s.Dir()))
			if got, want := listed(ctx, t, s, "alice"), ids[1:]; !slices.Equal(got, want) {
				t.Fatalf("UserSessions after PHP's GC = %q, want %q", got, want)
			}
			if got := len(indexFiles(t, s.Dir())); got != entries-1 {
				t.Fatalf("%d index files after UserSessions, want %d (the stale entry removed)", got, entries-1)
			}
			// Bob's entry is stale too but nobody listed it: GC drops it
			// and his directory.
			if _, err := s.GC(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
			if got := len(indexFiles(t, s.Dir())); got != entries-2 {
				t.Fatalf("%d index files after GC, want %d", got, entries-2)
			}
			if got := listed(ctx, t, s, "bob"); len(got) != 0 {
				t.Fatalf("bob's sessions after GC = %q, want none", got)
			}
			// An expired session's entry goes with it at GC.
			if _, err := s.GC(ctx, time.Now().Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got := indexFiles(t, s.Dir()); len(got) != 1 || got[0] != filepath.Join(".u", "key") {
				t.Fatalf("index files after every session expired = %q, want only the key", got)
			}
			buckets, err := os.ReadDir(filepath.Join(s.Dir(), ".u"))
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range buckets {
				if b.IsDir() {
					users, err := os.ReadDir(filepath.Join(s.Dir(), ".u", b.Name()))
					if err != nil {
						t.Fatal(err)
					}
					if len(users) != 0 {
						t.Fatalf("GC left %d empty user directories in bucket %s", len(users), b.Name())
					}
				}
			}
		})
	}
}

// TestUserIndexSurvivesRestart: a new Store on the same directory (a
// restarted process) finds the index, and a Manager on it logs the user
// out everywhere.
func TestUserIndexSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, first)
	a := m.Adapter()
	var cookies []string
	for i := 0; i < 3; i++ {
		s := a.Load(ctx, http.Header{})
		s.SetUser("carol")
		s.Set("n", i)
		h := http.Header{}
		if err := a.Commit(ctx, s, h); err != nil {
			t.Fatal(err)
		}
		a.Release(s)
		c, _, _ := strings.Cut(h.Get("Set-Cookie"), ";")
		cookies = append(cookies, c)
	}
	m.Close()

	second, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := listed(ctx, t, second, "carol"); len(got) != 3 {
		t.Fatalf("a new Store on the directory lists %d sessions of the user, want 3", len(got))
	}
	m2 := newManager(t, second)
	n, err := m2.DestroyUser(ctx, "carol")
	if err != nil || n != 3 {
		t.Fatalf("DestroyUser after a restart = %d, %v; want 3, nil", n, err)
	}
	for i, c := range cookies {
		s := m2.Adapter().Load(ctx, http.Header{"Cookie": {c}})
		if u := s.User(); u != "" {
			t.Fatalf("session %d is still bound to %q after DestroyUser", i, u)
		}
		m2.Adapter().Release(s)
	}
}

// TestUserIndexFollowsRegenerate: a login regenerates the ID; the index
// then names the new ID only, and a logout removes it.
func TestUserIndexFollowsRegenerate(t *testing.T) {
	ctx := context.Background()
	for _, locking := range []bool{false, true} {
		t.Run(map[bool]string{false: "Swap", true: "Locking"}[locking], func(t *testing.T) {
			store := newStore(t, filestore.Options{})
			m, err := core.New(store, core.Config{Keys: testKeys, Locking: locking, GCInterval: -1,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			a := m.Adapter()
			s := a.Load(ctx, http.Header{})
			s.SetUser("dave")
			h := http.Header{}
			if err := a.Commit(ctx, s, h); err != nil {
				t.Fatal(err)
			}
			a.Release(s)
			before := listed(ctx, t, store, "dave")
			if len(before) != 1 {
				t.Fatalf("index after login = %q, want one session", before)
			}
			cookie, _, _ := strings.Cut(h.Get("Set-Cookie"), ";")
			s = a.Load(ctx, http.Header{"Cookie": {cookie}})
			s.Set("x", 1)
			s.Regenerate()
			h = http.Header{}
			if err := a.Commit(ctx, s, h); err != nil {
				t.Fatal(err)
			}
			a.Release(s)
			after := listed(ctx, t, store, "dave")
			if len(after) != 1 || after[0] == before[0] {
				t.Fatalf("index after Regenerate = %q, want one session other than %q", after, before)
			}
			cookie, _, _ = strings.Cut(h.Get("Set-Cookie"), ";")
			s = a.Load(ctx, http.Header{"Cookie": {cookie}})
			s.Destroy()
			if err := a.Commit(ctx, s, http.Header{}); err != nil {
				t.Fatal(err)
			}
			a.Release(s)
			if got := listed(ctx, t, store, "dave"); len(got) != 0 {
				t.Fatalf("index after logout = %q, want none", got)
			}
		})
	}
}

// TestUserIndexNamesLeakNothing: no file or directory name in the index
// holds the user's name or a plain hash of it, and a second store on the
// same directory maps the user to the same directory (one key per
// directory).
func TestUserIndexNamesLeakNothing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, filestore.Options{})
	const user = "erin@example.org"
	id := "eeeeErinSession000000"
	bind(ctx, t, s, user, id)
	files := indexFiles(t, s.Dir())
	if len(files) != 2 {
		t.Fatalf("index files = %q, want the key and one entry", files)
	}
	for _, f := range files {
		if strings.Contains(f, "erin") || strings.Contains(f, "example") {
			t.Fatalf("index path %q holds the user name", f)
		}
		if strings.HasPrefix(filepath.Base(f), "sess_") {
			t.Fatalf("index path %q starts with sess_, which PHP's cleanup would delete", f)
		}
	}
	fi, err := os.Stat(filepath.Join(s.Dir(), ".u", "key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	other, err := filestore.New(s.Dir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := listed(ctx, t, other, user); !slices.Equal(got, []string{id}) {
		t.Fatalf("a second store lists %q, want %q", got, id)
	}
	bind(ctx, t, other, user, "eeeeErinSession000001")
	if got := len(indexFiles(t, s.Dir())); got != 3 {
		t.Fatalf("%d index files after the second store bound a session, want 3", got)
	}
}

// TestUserIndexRefusesPlantedLinks: an index directory planted as a
// symbolic link is never followed, and bad input is an error.
func TestUserIndexRefusesPlantedLinks(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, filestore.Options{})
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(s.Dir(), ".u")); err != nil {
		t.Fatal(err)
	}
	id := "ffffLinked0000000000"
	if err := s.Write(ctx, id, []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUserSession(ctx, "frank", id, time.Now().Add(time.Hour)); err == nil {
		t.Fatal("AddUserSession through a symbolic link succeeded")
	}
	if _, err := s.UserSessions(ctx, "frank"); err == nil {
		t.Fatal("UserSessions through a symbolic link succeeded")
	}
	if left, _ := os.ReadDir(elsewhere); len(left) != 0 {
		t.Fatalf("the store wrote %d files through the link", len(left))
	}

	s = newStore(t, filestore.Options{})
	tests := []struct{ user, id string }{
		{"", "ffffValidID000000000"},
		{"frank", "../../etc/passwd"},
		{"frank", ""},
		{"frank", strings.Repeat("a", filestore.MaxIDLength+1)},
	}
	for _, tt := range tests {
		if err := s.AddUserSession(ctx, tt.user, tt.id, time.Now().Add(time.Hour)); err == nil {
			t.Fatalf("AddUserSession(%q, %.20q) = nil, want an error", tt.user, tt.id)
		}
		if err := s.RemoveUserSession(ctx, tt.user, tt.id); err == nil {
			t.Fatalf("RemoveUserSession(%q, %.20q) = nil, want an error", tt.user, tt.id)
		}
	}
	if ids, err := s.UserSessions(ctx, ""); err != nil || len(ids) != 0 {
		t.Fatalf("UserSessions of the empty user = %q, %v; want none", ids, err)
	}
}

// TestUserIndexAcrossProcesses: two helper processes and this one bind
// sessions of one user in one fresh directory at once (all three race to
// create the index key), each deleting every fourth session file behind
// the index and running GC as it goes. The index must then list exactly
// the sessions whose files are left, whoever wrote them.
func TestUserIndexAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prefixes := []string{"procA", "procB"}
	var waits []func() error
	for _, p := range prefixes {
		cmd, _, stdin := helper(t, "index", dir, p)
		stdin.Close()
		waits = append(waits, cmd.Wait)
	}
	ctx := context.Background()
	if err := bindIndexedHere(ctx, s, dir); err != nil {
		t.Fatal(err)
	}
	for i, wait := range waits {
		if err := wait(); err != nil {
			t.Fatalf("helper %s: %v", prefixes[i], err)
		}
	}
	var want []string
	for _, p := range append(prefixes, "procC") {
		for n := 0; n < indexSessions; n++ {
			if n%4 != 3 {
				want = append(want, indexedID(p, n))
			}
		}
	}
	slices.Sort(want)
	if got := listed(ctx, t, s, indexUser); !slices.Equal(got, want) {
		t.Fatalf("UserSessions lists %d sessions, want the %d left of 3×%d", len(got), len(want), indexSessions)
	}
	if got := len(indexFiles(t, dir)); got != len(want)+1 {
		t.Fatalf("%d index files, want %d entries and the key", got, len(want))
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".u", ".key-*")); len(tmp) != 0 {
		t.Fatalf("temporary key files left: %d", len(tmp))
	}
}

// bindIndexedHere is this process's share of TestUserIndexAcrossProcesses.
func bindIndexedHere(ctx context.Context, s *filestore.Store, dir string) error {
	return bindIndexed(ctx, s, dir, "procC")
}

// newManager returns a Manager over store that is closed with the test.
func newManager(t *testing.T, store core.Store) *core.Manager {
	t.Helper()
	m, err := core.New(store, core.Config{Keys: testKeys, GCInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

var testKeys = [][]byte{[]byte("filestore-user-index-test-key-0123456789")}

// TestDestroyOtherSessions: "log out my other devices" after a password
// change (ASVS 7.4.3) ends every session of the user but the current one,
// whose index entry stays.
func TestDestroyOtherSessions(t *testing.T) {
	ctx := context.Background()
	store := newStore(t, filestore.Options{})
	m := newManager(t, store)
	a := m.Adapter()
	var cookies []string
	for i := 0; i < 3; i++ {
		s := a.Load(ctx, http.Header{})
		s.SetUser("grace")
		h := http.Header{}
		if err := a.Commit(ctx, s, h); err != nil {
			t.Fatal(err)
		}
		a.Release(s)
		c, _, _ := strings.Cut(h.Get("Set-Cookie"), ";")
		cookies = append(cookies, c)
	}
	s := a.Load(ctx, http.Header{"Cookie": {cookies[1]}})
	n, err := m.DestroyOtherSessions(ctx, s)
	a.Release(s)
	if err != nil || n != 2 {
		t.Fatalf("DestroyOtherSessions = %d, %v; want 2, nil", n, err)
	}
	for i, c := range cookies {
		s := a.Load(ctx, http.Header{"Cookie": {c}})
		if got, want := s.User(), map[bool]string{true: "grace"}[i == 1]; got != want {
			t.Fatalf("session %d is bound to %q after DestroyOtherSessions, want %q", i, got, want)
		}
		a.Release(s)
	}
	if got := listed(ctx, t, store, "grace"); len(got) != 1 {
		t.Fatalf("the index lists %d sessions after DestroyOtherSessions, want the kept one", len(got))
	}
}
