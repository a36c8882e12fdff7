package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/filestore"
)

// The tests in this file run the store on a small tmpfs of its own, filled
// to the last page or remounted read-only: real ENOSPC and EROFS from the
// kernel, no fakes. Mounting needs root (CI runs as root); elsewhere they
// skip loudly, and fail when CI is set.

const page = 4096

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory and
// unmounts it when the test ends.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		msg := fmt.Sprintf("cannot mount a tmpfs (%v): this test needs root", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING: " + msg)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return dir
}

// freeBytes is what an unprivileged writer may still allocate on dir's
// file system.
func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fillTo fills dir's file system with a file named filler until freePages
// pages are left.
func fillTo(t *testing.T, dir string, freePages int) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, page)
	var size int64
	for {
		n, err := f.Write(chunk)
		size += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	size -= size % page
	if err := f.Truncate(size - int64(freePages)*page); err != nil {
		t.Fatal(err)
	}
	if got := freeBytes(t, dir); got != int64(freePages)*page {
		t.Fatalf("free space = %d bytes, want %d pages", got, freePages)
	}
}

// emptyDir removes everything in dir.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// writeVia is one way a change reaches the store: a plain Write, a write
// through the lock, or a compare-and-swap.
type writeVia struct {
	name  string
	write func(ctx context.Context, s *filestore.Store, id string, old, new []byte) error
}

var writeVias = []writeVia{
	{"Write", func(ctx context.Context, s *filestore.Store, id string, _, new []byte) error {
		return s.Write(ctx, id, new, time.Now().Add(time.Hour))
	}},
	{"LockedWrite", func(ctx context.Context, s *filestore.Store, id string, _, new []byte) error {
		l, err := s.Lock(ctx, id)
		if err != nil {
			return err
		}
		err = l.(core.LockedWriter).Write(ctx, new, time.Now().Add(time.Hour))
		if uerr := l.Unlock(ctx); uerr != nil && err == nil {
			err = uerr
		}
		return err
	}},
	{"Swap", func(ctx context.Context, s *filestore.Store, id string, old, new []byte) error {
		ok, err := s.Swap(ctx, id, old, new, time.Now().Add(time.Hour))
		if err == nil && !ok {
			err = errors.New("Swap did not swap")
		}
		return err
	}},
}

// TestDiskFull writes records of several sizes over records of several
// sizes (or none: a new session) with 0 to 14 pages of disk left, through
// Write, a Lock and Swap, and checks that every write happened completely
// or not at all, as its result says: an error wraps ENOSPC and leaves the
// old record (or no session file at all) on disk, no recovery or lock
// file, and every page it took freed again; and the old record stays
// after the disk has room again and the session is read, locked and
// collected, so a write that failed (a 503) never shows up later.
func TestDiskFull(t *testing.T) {
	dir := mountTmpfs(t, 64*page)
	s, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "DiskFullSession0000000"
	sizes := []struct{ old, new int }{
		{-1, 100},      // new session, one page
		{-1, 3 * page}, // new session through a recovery file
		{100, 3000},    // grows within its page: needs no space
		{5000, 40000},  // grows past a page
		{20000, 30000}, // the old record fills the recovery file
		{20000, 10},    // shrinks: through a recovery file too
		{3 * page, 3 * page},
	}
	for _, via := range writeVias {
		for _, sz := range sizes {
			name := fmt.Sprintf("%s/%dto%d", via.name, sz.old, sz.new)
			t.Run(name, func(t *testing.T) {
				var failed, succeeded int
				for freePages := 0; freePages <= 14; freePages++ {
					emptyDir(t, dir)
					var old []byte
					if sz.old >= 0 {
						old = bytes.Repeat([]byte("o"), sz.old)
						if err := s.Write(ctx, id, old, time.Now().Add(time.Hour)); err != nil {
							t.Fatal(err)
						}
					}
					oldFiles := listFiles(t, dir)
					fillTo(t, dir, freePages)
					newData := bytes.Repeat([]byte("n"), sz.new)

					err := via.write(ctx, s, id, old, newData)

					want := newData
					if err != nil {
						failed++
						if !errors.Is(err, syscall.ENOSPC) {
							t.Fatalf("%d pages free: err = %v, want one wrapping ENOSPC", freePages, err)
						}
						if got := freeBytes(t, dir); got != int64(freePages)*page {
							t.Errorf("%d pages free: the failed write kept %d bytes of disk", freePages, int64(freePages)*page-got)
						}
						wantFiles := append([]string{"filler"}, oldFiles...) // "filler" sorts first
						if got := listFiles(t, dir); strings.Join(got, " ") != strings.Join(wantFiles, " ") {
							t.Errorf("%d pages free: files after the failed write = %v, want %v", freePages, got, wantFiles)
						}
						want = old
					} else {
						succeeded++
					}
					check := func(when string) {
						t.Helper()
						raw, rerr := os.ReadFile(filepath.Join(dir, "sess_"+id))
						switch {
						case want == nil && !errors.Is(rerr, os.ErrNotExist):
							t.Fatalf("%d pages free, %s: a session file is left (%d bytes, %v)", freePages, when, len(raw), rerr)
						case want != nil && !bytes.Equal(raw, want):
							t.Fatalf("%d pages free, %s: the file holds %d bytes (%v), want %d (err %v)", freePages, when, len(raw), rerr, len(want), err)
						}
						if fi, err := os.Stat(filepath.Join(dir, "sess_"+id)); err == nil && fi.Mode()&0o100 != 0 {
							t.Fatalf("%d pages free, %s: the session file is still marked dirty", freePages, when)
						}
						data, found, rerr := s.Read(ctx, id)
						if rerr != nil || found != (want != nil) || !bytes.Equal(data, want) {
							t.Fatalf("%d pages free, %s: Read = %d bytes, %v, %v; want %d bytes", freePages, when, len(data), found, rerr, len(want))
						}
					}
					check("right after the write")

					// With room again, nothing may complete the failed write.
					if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
						t.Fatal(err)
					}
					l, lerr := s.Lock(ctx, id)
					if lerr != nil {
						t.Fatal(lerr)
					}
					data, _, rerr := l.(core.LockedReader).Read(ctx)
					if uerr := l.Unlock(ctx); rerr != nil || uerr != nil || !bytes.Equal(data, want) {
						t.Fatalf("%d pages free, with room again: LockedReader.Read = %d bytes, %v, %v; want %d bytes", freePages, len(data), rerr, uerr, len(want))
					}
					if _, err := s.GC(ctx, time.Now()); err != nil {
						t.Fatal(err)
					}
					check("with room again")
				}
				t.Logf("%d writes failed, %d succeeded", failed, succeeded)
				if sz.new > sz.old+page && failed == 0 {
					t.Error("no write ran out of space: the test does not test")
				}
			})
		}
	}
}

// TestReadOnlyFileSystem remounts the store's file system read-only: reads
// go on, and every change fails with an error wrapping EROFS, changing
// nothing.
func TestReadOnlyFileSystem(t *testing.T) {
	dir := mountTmpfs(t, 64*page)
	s, err := filestore.New(dir, filestore.Options{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "ReadOnlyFileSystem0000"
	expiry := time.Now().Add(time.Hour)
	if err := s.Write(ctx, id, []byte("before"), expiry); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	before := listFiles(t, dir)

	if data, found, err := s.Read(ctx, id); err != nil || !found || string(data) != "before" {
		t.Fatalf("Read = %q, %v, %v", data, found, err)
	}
	if ok, err := s.Exists(ctx, id); !ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	newID := "NewSessionOnReadOnlyFS"
	changes := map[string]func() error{
		"Write":    func() error { return s.Write(ctx, id, []byte("after"), expiry) },
		"WriteNew": func() error { return s.Write(ctx, newID, []byte("new"), expiry) },
		"Swap": func() error {
			_, err := s.Swap(ctx, id, []byte("before"), []byte("after"), expiry)
			return err
		},
		"SwapNew": func() error {
			_, err := s.Swap(ctx, newID, nil, []byte("new"), expiry)
			return err
		},
		"Lock": func() error {
			l, err := s.Lock(ctx, id)
			if err == nil {
				l.Unlock(ctx)
			}
			return err
		},
		"LockNew": func() error {
			l, err := s.Lock(ctx, newID)
			if err == nil {
				l.Unlock(ctx)
			}
			return err
		},
		"Touch":   func() error { return s.Touch(ctx, id, expiry.Add(time.Hour)) },
		"Destroy": func() error { return s.Destroy(ctx, id) },
	}
	for name, change := range changes {
		if err := change(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: err = %v, want one wrapping EROFS", name, err)
		}
	}
	if after := listFiles(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Fatalf("files changed: %v, want %v", after, before)
	}
	if data, found, err := s.Read(ctx, id); err != nil || !found || string(data) != "before" {
		t.Fatalf("Read after the failed changes = %q, %v, %v", data, found, err)
	}
}

// TestFailedRecoveryFileIsRemoved: a write that cannot store its whole
// recovery file on a full disk removes the part it wrote, so the disk is
// not left fuller than before, and a later write with room succeeds.
func TestFailedRecoveryFileIsRemoved(t *testing.T) {
	dir := mountTmpfs(t, 64*page)
	s, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "PartialRecoveryFile000"
	old := bytes.Repeat([]byte("o"), 10*page)
	if err := s.Write(ctx, id, old, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	fillTo(t, dir, 3) // the recovery file needs 11 pages
	if err := s.Write(ctx, id, []byte("short"), time.Now().Add(time.Hour)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Write: %v, want ENOSPC", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".r_"+id)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a partial recovery file is left: %v", err)
	}
	if got := freeBytes(t, dir); got != 3*page {
		t.Fatalf("free space after the failed write = %d, want %d", got, 3*page)
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, id, []byte("short"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "sess_"+id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if raw, _ := io.ReadAll(f); string(raw) != "short" {
		t.Fatalf("file = %q", raw)
	}
}
