package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/filestore"
)

// TestLockUnknownIDLeavesNoFile: locking an ID the store does not hold
// (a client-chosen PHPSESSID) creates no session file, not even while the
// lock is held — PHP's strict mode (a stat) would adopt the ID — and no
// subdirectory, and leaves nothing behind after Unlock.
func TestLockUnknownIDLeavesNoFile(t *testing.T) {
	tests := []struct {
		name string
		opts filestore.Options
		path string // where PHP would stat the session file
	}{
		{"Flat", filestore.Options{MaxLifetime: time.Hour}, "sess_ClientChosenId0000000"},
		{"Depth2", filestore.Options{Depth: 2}, "C/l/sess_ClientChosenId0000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := filestore.New(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			id := "ClientChosenId0000000"
			l, err := s.Lock(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(dir, tt.path)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("while locked, PHP's stat of the session file: %v, want it absent", err)
			}
			if entries, _ := os.ReadDir(dir); tt.opts.Depth > 0 && len(entries) != 1 {
				t.Errorf("while locked, the directory holds %d entries, want only the lock file", len(entries))
			}
			if _, found, err := l.(core.LockedReader).Read(ctx); found || err != nil {
				t.Errorf("LockedReader.Read of an unknown id = %v, %v", found, err)
			}
			if ok, err := s.Exists(ctx, id); ok || err != nil {
				t.Errorf("Exists of a locked unknown id = %v, %v", ok, err)
			}
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Fatalf("after Unlock the directory holds %v (%v), want nothing", entries, err)
			}
		})
	}
}

// TestLockKeepsBlankFiles: an empty session file that exists before Lock —
// one PHP's read created, or an empty record a writer stored (PHP writes
// empty sessions as empty files too) — is locked in place and left alone by
// Unlock: only its owner's Destroy or GC removes it.
func TestLockKeepsBlankFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir, filestore.Options{MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	phpID, emptyID := "OpenedByPHPsRead000000", "WrittenEmptyRecord0000"
	phpFile := filepath.Join(dir, "sess_"+phpID)
	if err := os.WriteFile(phpFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, emptyID, nil, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{phpID, emptyID} {
		l, err := s.Lock(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(filepath.Join(dir, "sess_"+id)); err != nil || fi.Size() != 0 {
			t.Fatalf("%s: Lock and Unlock of an existing empty file: %v", id, err)
		}
	}
	if _, found, err := s.Read(ctx, phpID); found || err != nil {
		t.Errorf("a file PHP's read created (never written) reads as found=%v, %v; want no record", found, err)
	}
	if data, found, err := s.Read(ctx, emptyID); !found || err != nil || len(data) != 0 {
		t.Errorf("an empty record reads as %q, %v, %v; want found and empty", data, found, err)
	}
	if got := listFiles(t, dir); strings.Join(got, " ") != "sess_"+phpID+" sess_"+emptyID {
		t.Errorf("files = %v", got)
	}
}

// TestLockWithoutSessionFile: while no session file exists, Lock still
// excludes every other Lock on the ID (in this process and in others: two
// Stores on one directory share nothing but the files), a write through
// the lock creates the session file, and the next holder reads it.
func TestLockWithoutSessionFile(t *testing.T) {
	dir := t.TempDir()
	s1, err := filestore.New(dir, filestore.Options{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := filestore.New(dir, filestore.Options{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "NoSessionFileYet000000"
	first, err := s1.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*filestore.Store{s1, s2} {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		_, err := s.Lock(tctx, id)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second Lock while the first holds the lock file: %v, want context.DeadlineExceeded", err)
		}
	}
	got := make(chan error, 1)
	go func() {
		l, err := s2.Lock(ctx, id)
		if err != nil {
			got <- err
			return
		}
		defer l.Unlock(ctx)
		data, found, err := l.(core.LockedReader).Read(ctx)
		if err == nil && (!found || string(data) != "created under lock") {
			err = errors.New("the next holder read " + string(data))
		}
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := first.(core.LockedWriter).Write(ctx, []byte("created under lock"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		t.Fatalf("the second Lock returned while the first was held: %v", err)
	default:
	}
	if err := first.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if files := listFiles(t, dir); strings.Join(files, " ") != "N/sess_"+id {
		t.Fatalf("files = %v, want only the session file", files)
	}
}

// TestLockLosesToUnlockedCreator: a lock taken while no session file
// existed does not stop a writer that takes no Lock (PHP opening the ID,
// or a plain Write) from creating the session. The lock then reads what
// that writer wrote, and its own write is refused with core.ErrLockLost
// instead of overwriting a record it never saw.
func TestLockLosesToUnlockedCreator(t *testing.T) {
	dir := t.TempDir()
	s1, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "CreatedBehindTheLock00"
	l, err := s1.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(ctx)
	if err := s2.Write(ctx, id, []byte("theirs"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	err = l.(core.LockedWriter).Write(ctx, []byte("mine"), time.Now().Add(time.Hour))
	if !errors.Is(err, core.ErrLockLost) {
		t.Fatalf("LockedWriter.Write over a record created behind the lock: %v, want core.ErrLockLost", err)
	}
	if data, found, err := l.(core.LockedReader).Read(ctx); err != nil || !found || string(data) != "theirs" {
		t.Fatalf("LockedReader.Read = %q, %v, %v; want the other writer's record", data, found, err)
	}
	if err := l.(core.LockedWriter).Write(ctx, []byte("mine, after reading theirs"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("LockedWriter.Write after reading the record: %v", err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if data, _, _ := s2.Read(ctx, id); string(data) != "mine, after reading theirs" {
		t.Fatalf("record = %q", data)
	}
}

// TestGCRemovesDeadLockFiles: a lock file left by a process that died
// holding a Lock is removed by GC; one that is held is not.
func TestGCRemovesDeadLockFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir, filestore.Options{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dead, held := "DiedHoldingItsLock0000", "StillHoldingItsLock000"
	if err := os.WriteFile(filepath.Join(dir, ".l_"+dead), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(ctx, held)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.GC(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("GC = %d, %v; want 0 sessions removed", n, err)
	}
	if got := listFiles(t, dir); strings.Join(got, " ") != ".l_"+held {
		t.Fatalf("files after GC = %v, want only the held lock file", got)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if got := listFiles(t, dir); len(got) != 0 {
		t.Fatalf("files after Unlock = %v", got)
	}
}
