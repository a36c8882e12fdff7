package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// gcBatch is how many directory entries GC reads at a time, so a directory
// of millions of sessions is streamed, never loaded whole.
const gcBatch = 256

// orphanAge is how old a recovery file no write needs must be before GC
// removes it; younger ones may belong to a write in progress.
const orphanAge = time.Minute

// GC removes the session files whose record expired at now, at every
// Depth (PHP's own GC only handles depth 0). It never removes a locked
// session: each candidate is locked with LOCK_EX|LOCK_NB first (skipped if
// any Go or PHP process holds it) and its mtime checked again under the
// lock, since a holder may have extended it. GC holds no store-wide lock
// and streams the directory in batches, so requests are not stalled while
// it runs; it stops with ctx. Files it may not touch (another user's, in
// a shared directory) are skipped; an expired session file with other hard
// links loses its name here, nothing more. It also removes the lock files
// of processes that died holding a Lock, old recovery files no write
// needs, and the user index entries of sessions that hold no live record
// any more (userindex.go). It returns the number of session files removed
// and the first error met, after visiting everything else.
func (s *Store) GC(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("filestore: %w", err)
	}
	g := gcRun{s: s, now: now}
	err := g.walk(ctx, s.dir, 0)
	if err == nil {
		err = g.index(ctx)
	}
	if err == nil {
		err = g.err
	}
	return g.removed, err
}

// gcRun is the state of one GC pass.
type gcRun struct {
	s       *Store
	now     time.Time
	removed int
	err     error // first per-file error
}

// note records the first per-file error, ignoring the ones that mean the
// file is gone or is not ours to remove.
func (g *gcRun) note(err error) {
	if err == nil || g.err != nil || errors.Is(err, fs.ErrNotExist) ||
		errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EPERM) {
		return
	}
	g.err = err
}

// walk visits dir, which is level levels below the store's directory.
func (g *gcRun) walk(ctx context.Context, dir string, level int) error {
	d, err := os.Open(dir)
	if err != nil {
		if level > 0 && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fsErr("gc", err)
	}
	defer d.Close()
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("filestore: gc: %w", err)
		}
		entries, err := d.ReadDir(gcBatch)
		for _, e := range entries {
			name := e.Name()
			switch {
			case level == 0 && strings.HasPrefix(name, lockPrefix) && checkID(name[len(lockPrefix):], g.s.depth) == nil:
				g.lockFile(filepath.Join(dir, name), e)
			case level < g.s.depth:
				if e.IsDir() && checkID(name, 0) == nil && len(name) == 1 {
					if err := g.walk(ctx, filepath.Join(dir, name), level+1); err != nil {
						return err
					}
				}
			case strings.HasPrefix(name, filePrefix):
				g.session(ctx, dir, name[len(filePrefix):], e)
			case strings.HasPrefix(name, undoPrefix):
				g.orphan(dir, name[len(undoPrefix):], e)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fsErr("gc", err)
		}
	}
}

// session removes one session file if it is expired and not locked.
func (g *gcRun) session(ctx context.Context, dir, id string, e fs.DirEntry) {
	if checkID(id, g.s.depth) != nil || g.s.sessionDir(id) != dir {
		return
	}
	fi, err := e.Info()
	if err != nil {
		g.note(fsErr("gc", err))
		return
	}
	if !fi.Mode().IsRegular() || g.s.live(fi, g.now) {
		return
	}
	n := g.s.names(id)
	if _, nlink, _ := fileInfo(fi); nlink > 1 {
		// Not a file this store or PHP made: never open it (a write to
		// restore it would write through the link), only drop the name.
		if err := os.Remove(n.data); err != nil {
			g.note(fsErr("gc", err))
		}
		return
	}
	f, err := os.OpenFile(n.data, os.O_RDWR|openFlags, 0)
	if err != nil {
		g.note(fsErr("gc", err))
		return
	}
	h := &handle{s: g.s, f: f, n: n, writable: true}
	ok, err := tryLock(f, lockExclusive)
	if err != nil || !ok {
		f.Close()
		g.note(err)
		return
	}
	defer h.release()
	fi, err = g.s.check(f)
	if err != nil {
		g.note(err)
		return
	}
	if fi.Mode()&dirtyBit != 0 {
		if err := h.recoverUndo(); err != nil {
			g.note(err)
			return
		}
		fi = h.fi
	}
	if _, nlink, _ := fileInfo(fi); nlink == 0 || g.s.live(fi, g.now) {
		return
	}
	if err := ctx.Err(); err != nil {
		return
	}
	if err := os.Remove(n.data); err != nil {
		g.note(fsErr("gc", err))
		return
	}
	g.removed++
}

// lockFile removes a lock file nobody holds: one left by a process that
// died while holding a Lock. Holding its flock while removing it is what
// Unlock does too; a Lock that opened it meanwhile starts over.
func (g *gcRun) lockFile(path string, e fs.DirEntry) {
	if !e.Type().IsRegular() {
		return
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		g.note(fsErr("gc", err))
		return
	}
	ok, err := tryLock(f, lockExclusive)
	if err != nil || !ok {
		f.Close()
		g.note(err)
		return
	}
	g.note(dropLockFile(f, path))
}

// orphan removes a recovery file that no write needs: one whose session
// file is gone or not marked dirty, once it is old enough not to belong to
// a write in progress.
func (g *gcRun) orphan(dir, id string, e fs.DirEntry) {
	if checkID(id, g.s.depth) != nil || g.s.sessionDir(id) != dir {
		return
	}
	fi, err := e.Info()
	if err != nil || time.Since(fi.ModTime()) < orphanAge {
		return
	}
	n := g.s.names(id)
	if sfi, err := os.Lstat(n.data); err == nil && sfi.Mode()&dirtyBit != 0 {
		return
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err := os.Remove(n.undo); err != nil {
		g.note(fsErr("gc", err))
	}
}
