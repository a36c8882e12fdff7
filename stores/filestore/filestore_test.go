package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/filestore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

func newStore(t testing.TB, opts filestore.Options) *filestore.Store {
	t.Helper()
	s, err := filestore.New(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts filestore.Options
	}{
		{"ExpiryAsMtime", filestore.Options{}},
		{"PHPMaxLifetime", filestore.Options{MaxLifetime: 24 * time.Minute}},
		{"Depth2", filestore.Options{Depth: 2, Mode: 0o640}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) core.Store { return newStore(t, tt.opts) })
		})
	}
}

func TestParseSavePath(t *testing.T) {
	tests := []struct {
		in      string
		dir     string
		depth   int
		mode    os.FileMode
		wantErr bool
	}{
		{in: "/var/lib/php/sessions", dir: "/var/lib/php/sessions"},
		{in: "2;/x/f3", dir: "/x/f3", depth: 2},
		{in: "2;0640;/x/f3", dir: "/x/f3", depth: 2, mode: 0o640},
		{in: "1;600;/a;b;c", dir: "/a;b;c", depth: 1, mode: 0o600},
		{in: "", dir: os.TempDir()},
		{in: "0;", dir: os.TempDir()},
		{in: "x;/tmp", wantErr: true},
		{in: "-1;/tmp", wantErr: true},
		{in: "99;/tmp", wantErr: true},
		{in: "1;0999;/tmp", wantErr: true},
		{in: "1;01000;/tmp", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			dir, opts, err := filestore.ParseSavePath(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseSavePath(%q) = %q, %+v; want an error", tt.in, dir, opts)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dir != tt.dir || opts.Depth != tt.depth || opts.Mode != tt.mode {
				t.Fatalf("ParseSavePath(%q) = %q, depth %d, mode %o; want %q, %d, %o",
					tt.in, dir, opts.Depth, opts.Mode, tt.dir, tt.depth, tt.mode)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		opts filestore.Options
	}{
		{"EmptyDir", "", filestore.Options{}},
		{"MissingDir", filepath.Join(t.TempDir(), "missing"), filestore.Options{}},
		{"NotADir", file, filestore.Options{}},
		{"NegativeDepth", t.TempDir(), filestore.Options{Depth: -1}},
		{"DeepDepth", t.TempDir(), filestore.Options{Depth: 17}},
		{"SetuidMode", t.TempDir(), filestore.Options{Mode: os.ModeSetuid | 0o600}},
		{"NegativeLifetime", t.TempDir(), filestore.Options{MaxLifetime: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := filestore.New(tt.dir, tt.opts); !errors.Is(err, core.ErrConfig) {
				t.Fatalf("New: err = %v, want core.ErrConfig", err)
			}
		})
	}
}

// TestPHPLayout checks the on-disk contract PHP's files handler expects:
// sess_<id> under N one-character directories, the configured mode, the
// raw bytes as content and, with MaxLifetime, mtime = expiry - MaxLifetime.
func TestPHPLayout(t *testing.T) {
	dir := t.TempDir()
	const maxLifetime = 1440 * time.Second
	s, err := filestore.New(dir, filestore.Options{Depth: 2, Mode: 0o640, MaxLifetime: maxLifetime})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "abcdef0123456789"
	data := []byte(`user|s:5:"alice";n|i:42;`)
	expiry := time.Now().Add(maxLifetime).Truncate(time.Second)
	if err := s.Write(ctx, id, data, expiry); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "a", "b", "sess_"+id)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("session file not at PHP's path: %v", err)
	}
	if fi.Mode().Perm() != 0o640&^umask() {
		t.Errorf("mode = %o, want %o", fi.Mode().Perm(), 0o640&^umask())
	}
	if got := fi.ModTime(); !got.Equal(expiry.Add(-maxLifetime)) {
		t.Errorf("mtime = %v, want expiry - MaxLifetime = %v", got, expiry.Add(-maxLifetime))
	}
	raw, err := os.ReadFile(path)
	if err != nil || string(raw) != string(data) {
		t.Fatalf("file content = %q, %v; want the raw bytes %q", raw, err, data)
	}
	if got := listFiles(t, dir); strings.Join(got, " ") != "a/b/sess_"+id {
		t.Errorf("files = %v, want only a/b/sess_%s", got, id)
	}

	// A file PHP wrote just now (mtime = now) is live for MaxLifetime.
	phpID := "zz9PHPwritten0000"
	phpData := []byte(`n|i:7;`)
	if err := os.MkdirAll(filepath.Join(dir, "z", "z"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "z", "z", "sess_"+phpID), phpData, 0o600); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.Read(ctx, phpID)
	if err != nil || !found || string(got) != string(phpData) {
		t.Fatalf("Read of a PHP-written file = %q, %v, %v; want %q", got, found, err, phpData)
	}
	// The same file with an mtime older than MaxLifetime has expired.
	old := time.Now().Add(-maxLifetime - time.Second)
	if err := os.Chtimes(filepath.Join(dir, "z", "z", "sess_"+phpID), old, old); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Read(ctx, phpID); found {
		t.Fatal("a PHP file older than MaxLifetime is still found")
	}
	n, err := s.GC(ctx, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("GC = %d, %v; want 1 removed", n, err)
	}
}

// TestInvalidIDs sends traversal and injection payloads through every
// method: each must fail with core.ErrInvalidID and nothing may change on
// disk, inside or outside the store's directory.
func TestInvalidIDs(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "sessions")
	for _, d := range []string{dir, filepath.Join(root, "victim")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "victim", "sess_x"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sess_x"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	payloads := map[string]string{
		"DotDot":        "../x",
		"DotDotVictim":  "../victim/sess_x",
		"Backslash":     `..\x`,
		"Slash":         "a/b",
		"NUL":           "abc\x00def",
		"CRLF":          "abc\r\nSET x",
		"Absolute":      filepath.Join(root, "sess_x"),
		"Dot":           ".",
		"Empty":         "",
		"Space":         "abc def",
		"PercentDotDot": "%2e%2e%2fx",
		"Glob":          "*",
		"Unicode":       "séssion",
		"TooLong":       strings.Repeat("a", filestore.MaxIDLength+1),
		"TenKB":         strings.Repeat("A", 10<<10),
	}
	for _, depth := range []int{0, 2} {
		s, err := filestore.New(dir, filestore.Options{Depth: depth})
		if err != nil {
			t.Fatal(err)
		}
		before := listFiles(t, root)
		ctx := context.Background()
		for name, id := range payloads {
			t.Run(name, func(t *testing.T) {
				calls := map[string]func() error{
					"Read":    func() error { _, _, err := s.Read(ctx, id); return err },
					"Write":   func() error { return s.Write(ctx, id, []byte("pwned"), time.Now().Add(time.Hour)) },
					"Destroy": func() error { return s.Destroy(ctx, id) },
					"Touch":   func() error { return s.Touch(ctx, id, time.Now().Add(time.Hour)) },
					"Exists":  func() error { _, err := s.Exists(ctx, id); return err },
					"Swap": func() error {
						_, err := s.Swap(ctx, id, nil, []byte("pwned"), time.Now().Add(time.Hour))
						return err
					},
					"Lock": func() error {
						l, err := s.Lock(ctx, id)
						if err == nil {
							l.Unlock(ctx)
						}
						return err
					},
				}
				for op, call := range calls {
					err := call()
					if !errors.Is(err, core.ErrInvalidID) {
						t.Errorf("%s: err = %v, want core.ErrInvalidID", op, err)
					}
					if err != nil && len(id) > 3 && strings.Contains(err.Error(), id) {
						t.Errorf("%s: the error repeats the raw id", op)
					}
				}
			})
		}
		if after := listFiles(t, root); strings.Join(after, "\n") != strings.Join(before, "\n") {
			t.Fatalf("depth %d: files changed:\nbefore %v\nafter  %v", depth, before, after)
		}
	}
	for _, p := range []string{filepath.Join(root, "victim", "sess_x"), filepath.Join(root, "sess_x")} {
		if b, err := os.ReadFile(p); err != nil || string(b) != "keep" {
			t.Fatalf("%s changed: %q, %v", p, b, err)
		}
	}
}

// TestSymlinkNotFollowed plants a symlink where a session file belongs: no
// method may read or write through it.
func TestSymlinkNotFollowed(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "sessions")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "secret")
	if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := "PlantedSymlink0000"
	if err := os.Symlink(target, filepath.Join(dir, "sess_"+id)); err != nil {
		t.Fatal(err)
	}
	s, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if data, found, err := s.Read(ctx, id); err == nil || found {
		t.Errorf("Read through a symlink = %q, %v, %v; want an error", data, found, err)
	}
	if err := s.Write(ctx, id, []byte("overwritten"), time.Now().Add(time.Hour)); err == nil {
		t.Error("Write through a symlink succeeded")
	}
	if l, err := s.Lock(ctx, id); err == nil {
		l.Unlock(ctx)
		t.Error("Lock through a symlink succeeded")
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "secret" {
		t.Fatalf("the symlink target changed: %q, %v", b, err)
	}
}

// TestSymlinkedSubdirNotFollowed plants a symbolic link where a session
// subdirectory belongs (save path "2;…", first and second level): no
// method may read, write, create or remove anything through it, and the
// directory it points to stays as it was.
func TestSymlinkedSubdirNotFollowed(t *testing.T) {
	const id = "Sy1inkedSubdirectory00"
	tests := []struct {
		name   string
		link   string // the planted link, pointing at the victim directory
		target string // where the session file resolves to behind it
	}{
		{"FirstLevel", "S", "y/sess_" + id},
		{"SecondLevel", "S/y", "sess_" + id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir, victim := filepath.Join(root, "sessions"), filepath.Join(root, "victim")
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, tt.link)), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(victim, tt.target)), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(victim, tt.target), []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, filepath.Join(dir, tt.link)); err != nil {
				t.Fatal(err)
			}
			s, err := filestore.New(dir, filestore.Options{Depth: 2})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			expiry := time.Now().Add(time.Hour)
			calls := map[string]func() error{
				"Read":    func() error { _, _, err := s.Read(ctx, id); return err },
				"Write":   func() error { return s.Write(ctx, id, []byte("overwritten"), expiry) },
				"Destroy": func() error { return s.Destroy(ctx, id) },
				"Touch":   func() error { return s.Touch(ctx, id, expiry) },
				"Exists":  func() error { _, err := s.Exists(ctx, id); return err },
				"Swap": func() error {
					_, err := s.Swap(ctx, id, []byte("secret"), []byte("overwritten"), expiry)
					return err
				},
				"Lock": func() error {
					l, err := s.Lock(ctx, id)
					if err != nil {
						return err
					}
					defer l.Unlock(ctx)
					if _, _, err := l.(core.LockedReader).Read(ctx); err != nil {
						return err
					}
					return l.(core.LockedWriter).Write(ctx, []byte("overwritten"), expiry)
				},
			}
			for name, call := range calls {
				if err := call(); err == nil {
					t.Errorf("%s through a symlinked subdirectory succeeded", name)
				}
			}
			if _, err := s.GC(ctx, time.Now().Add(48*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got := listFiles(t, victim); strings.Join(got, " ") != tt.target {
				t.Fatalf("the linked directory now holds %v, want only %s", got, tt.target)
			}
			if b, err := os.ReadFile(filepath.Join(victim, tt.target)); err != nil || string(b) != "secret" {
				t.Fatalf("the file behind the link changed: %q, %v", b, err)
			}
		})
	}
}

// TestHardLinkNotWritten plants a session file that is a second hard link
// to another file: the store refuses to read, lock, touch or write it (it
// cannot replace it without breaking PHP's lock), Exists reports no
// record, and GC of the expired name only removes the name. A planted
// link where the recovery file goes is replaced, never written through.
func TestHardLinkNotWritten(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "sessions")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(root, "victim")
	if err := os.WriteFile(victim, []byte("victim's data"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(victim, old, old); err != nil {
		t.Fatal(err)
	}
	id := "HardLinkedSessionFile0"
	if err := os.Link(victim, filepath.Join(dir, "sess_"+id)); err != nil {
		t.Fatal(err)
	}
	s, err := filestore.New(dir, filestore.Options{MaxLifetime: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	expiry := time.Now().Add(time.Hour)
	calls := map[string]func() error{
		"Read":  func() error { _, _, err := s.Read(ctx, id); return err },
		"Write": func() error { return s.Write(ctx, id, bytes.Repeat([]byte("x"), 9000), expiry) },
		"Touch": func() error { return s.Touch(ctx, id, expiry) },
		"Swap": func() error {
			_, err := s.Swap(ctx, id, []byte("victim's data"), []byte("overwritten"), expiry)
			return err
		},
		"Lock": func() error {
			l, err := s.Lock(ctx, id)
			if err == nil {
				l.Unlock(ctx)
			}
			return err
		},
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s of a hard-linked session file succeeded", name)
		}
	}
	if ok, err := s.Exists(ctx, id); ok || err != nil {
		t.Errorf("Exists of a hard-linked session file = %v, %v; want false", ok, err)
	}
	checkVictim := func() {
		t.Helper()
		fi, err := os.Stat(victim)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "victim's data" || !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o600 {
			t.Fatalf("the linked file changed: %q, mtime %v, mode %v", b, fi.ModTime(), fi.Mode())
		}
	}
	checkVictim()
	if n, err := s.GC(ctx, time.Now().Add(2*time.Hour)); err != nil || n != 0 {
		t.Fatalf("GC = %d, %v", n, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sess_"+id)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("GC left the expired hard-linked name: %v", err)
	}
	checkVictim()

	// A recovery file name planted as a link to the victim: a write that
	// needs a recovery file must not write the old record into it.
	id2 := "PlantedRecoveryFileLnk"
	if err := s.Write(ctx, id2, bytes.Repeat([]byte("a"), 9000), expiry); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(victim, filepath.Join(dir, ".r_"+id2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, id2, []byte("short"), expiry); err != nil {
		t.Fatal(err)
	}
	checkVictim()
	if data, _, err := s.Read(ctx, id2); err != nil || string(data) != "short" {
		t.Fatalf("Read = %q, %v", data, err)
	}
}

// TestDepthLayout checks that Depth spreads files over one-character
// directories and that GC finds expired files at that depth.
func TestDepthLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir, filestore.Options{Depth: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ids := []string{"abc0000000000000", "abd0000000000000", "xyz0000000000000"}
	for i, id := range ids {
		expiry := time.Now().Add(time.Hour)
		if i == 2 {
			expiry = time.Now().Add(-time.Hour)
		}
		if err := s.Write(ctx, id, []byte(id), expiry); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a/b/c/sess_" + ids[0], "a/b/d/sess_" + ids[1], "x/y/z/sess_" + ids[2]}
	if got := listFiles(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files = %v, want %v", got, want)
	}
	for _, id := range ids[:2] {
		if got, found, err := s.Read(ctx, id); err != nil || !found || string(got) != id {
			t.Fatalf("Read(%s) = %q, %v, %v", id, got, found, err)
		}
	}
	if n, err := s.GC(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("GC = %d, %v; want 1", n, err)
	}
	if err := s.Destroy(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if got := listFiles(t, dir); strings.Join(got, " ") != want[1] {
		t.Fatalf("files after GC and Destroy = %v, want [%s]", got, want[1])
	}
	// An ID no longer than the depth cannot be laid out.
	if err := s.Write(ctx, "abc", []byte("x"), time.Now().Add(time.Hour)); !errors.Is(err, core.ErrInvalidID) {
		t.Fatalf("Write of an id as short as the depth: %v, want core.ErrInvalidID", err)
	}
}

// TestDestroyWhileLocked checks "destroy wins": a holder whose session is
// destroyed under it cannot bring it back through its lock.
func TestDestroyWhileLocked(t *testing.T) {
	s := newStore(t, filestore.Options{})
	ctx := context.Background()
	id := "DestroyedWhileLocked"
	if err := s.Write(ctx, id, []byte("logged in"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(ctx)
	if err := s.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	lw := l.(core.LockedWriter)
	if err := lw.Write(ctx, []byte("resurrected"), time.Now().Add(time.Hour)); !errors.Is(err, core.ErrLockLost) {
		t.Fatalf("Write through the lock of a destroyed session: %v, want core.ErrLockLost", err)
	}
	if _, found, _ := l.(core.LockedReader).Read(ctx); found {
		t.Fatal("LockedReader still finds a destroyed session")
	}
	if _, found, _ := s.Read(ctx, id); found {
		t.Fatal("a destroyed session came back")
	}
}

// listFiles returns the regular files and symlinks under root, relative
// and sorted.
func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestIDLengthLimit: the longest ID core accepts (250 characters, so that
// "sess_" plus the ID fills a 255-byte file name) works with every method,
// including the writes that need a recovery file and a lock taken while no
// session file exists (their names, .r_ and .l_ plus the ID, fit too), at
// depth 0 and 2. 251 to 256 valid characters — PHP itself accepts 256 —
// are a clean core.ErrInvalidID from every method, never a file system
// error (a 503), and create nothing.
func TestIDLengthLimit(t *testing.T) {
	if core.MaxIDLength != filestore.MaxIDLength {
		t.Fatalf("core.MaxIDLength = %d, filestore.MaxIDLength = %d: an ID core accepts must have a file name here",
			core.MaxIDLength, filestore.MaxIDLength)
	}
	makeID := func(n int) string { return strings.Repeat("aZ9,-", 60)[:n] }
	for _, depth := range []int{0, 2} {
		t.Run(fmt.Sprintf("Depth%d", depth), func(t *testing.T) {
			dir := t.TempDir()
			s, err := filestore.New(dir, filestore.Options{Depth: depth})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			expiry := time.Now().Add(time.Hour)
			big := bytes.Repeat([]byte("b"), 9000)

			id := makeID(filestore.MaxIDLength)
			if !core.ValidID(id) {
				t.Fatal("core rejects a 250-character ID")
			}
			l, err := s.Lock(ctx, id)
			if err != nil {
				t.Fatalf("Lock without a session file: %v", err)
			}
			if err := l.(core.LockedWriter).Write(ctx, big, expiry); err != nil {
				t.Fatalf("LockedWriter.Write creating the file: %v", err)
			}
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				name string
				call func() error
			}{
				{"Write", func() error { return s.Write(ctx, id, []byte("short"), expiry) }},
				{"WriteBig", func() error { return s.Write(ctx, id, big, expiry) }},
				{"Read", func() error {
					data, found, err := s.Read(ctx, id)
					if err == nil && (!found || !bytes.Equal(data, big)) {
						err = errors.New("wrong record")
					}
					return err
				}},
				{"Exists", func() error {
					ok, err := s.Exists(ctx, id)
					if err == nil && !ok {
						err = errors.New("not found")
					}
					return err
				}},
				{"Touch", func() error { return s.Touch(ctx, id, expiry.Add(time.Minute)) }},
				{"Swap", func() error {
					ok, err := s.Swap(ctx, id, big, []byte("swapped"), expiry)
					if err == nil && !ok {
						err = errors.New("not swapped")
					}
					return err
				}},
				{"Lock", func() error {
					l, err := s.Lock(ctx, id)
					if err != nil {
						return err
					}
					if err := l.(core.LockedWriter).Write(ctx, big, expiry); err != nil {
						return err
					}
					return l.Unlock(ctx)
				}},
				{"GC", func() error { _, err := s.GC(ctx, time.Now()); return err }},
				{"Destroy", func() error { return s.Destroy(ctx, id) }},
			}
			for _, st := range steps {
				if err := st.call(); err != nil {
					t.Fatalf("%s of a %d-character ID: %v", st.name, len(id), err)
				}
			}
			if got := listFiles(t, dir); len(got) != 0 {
				t.Fatalf("files left: %v", got)
			}

			// The session's subdirectories stay: they are PHP's layout.
			before := walkAll(t, dir)
			for n := filestore.MaxIDLength + 1; n <= 256; n++ {
				id := makeID(n)
				calls := map[string]func() error{
					"Read":    func() error { _, _, err := s.Read(ctx, id); return err },
					"Write":   func() error { return s.Write(ctx, id, []byte("x"), expiry) },
					"Destroy": func() error { return s.Destroy(ctx, id) },
					"Touch":   func() error { return s.Touch(ctx, id, expiry) },
					"Exists":  func() error { _, err := s.Exists(ctx, id); return err },
					"Swap": func() error {
						_, err := s.Swap(ctx, id, nil, []byte("x"), expiry)
						return err
					},
					"Lock": func() error {
						l, err := s.Lock(ctx, id)
						if err == nil {
							l.Unlock(ctx)
						}
						return err
					},
				}
				for name, call := range calls {
					if err := call(); !errors.Is(err, core.ErrInvalidID) || errors.Is(err, core.ErrStore) {
						t.Errorf("%s of a %d-character ID: err = %v, want core.ErrInvalidID", name, n, err)
					}
				}
			}
			if after := walkAll(t, dir); after != before {
				t.Fatalf("the rejected IDs changed the directory:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

// walkAll lists every path under root, directories included.
func walkAll(t *testing.T, root string) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}
