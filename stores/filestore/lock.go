package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// Backoff bounds of the lock wait. flock(2) can only block in the kernel,
// where ctx cannot reach it, so waiters poll with LOCK_NB instead, starting
// fast for the common short critical section and capping the cost of a
// long one.
const (
	minBackoff = time.Millisecond
	maxBackoff = 20 * time.Millisecond
)

// maxReopen bounds how often open retries after finding that the file it
// locked was unlinked meanwhile (a Destroy or GC between open and flock).
const maxReopen = 100

// errUnlinked reports a write to a session file that was destroyed while
// its holder had it open.
var errUnlinked = errors.New("filestore: session file was destroyed while locked")

var (
	_ core.LockedReader = (*fileLock)(nil)
	_ core.LockedWriter = (*fileLock)(nil)
)

// Lock takes PHP's session lock: an exclusive flock(2) on the session file
// itself, so Go and PHP processes sharing the directory serialise on it.
//
// Lock never creates a session file: PHP's strict mode takes any file
// named sess_<id> as a known session (its validate_sid is a stat), so a
// file made for a client-chosen ID would get that ID adopted, and clients
// could create files at will. While no session file exists, Lock takes an
// flock on a lock file, .l_<id> in the store's directory, instead, which
// Lock in every Go process takes too, and removes it on Unlock. Only a
// write through the lock creates the session file (and locks it before
// writing). PHP does not know lock files; what it does meanwhile is safe:
// if PHP (or a Write, which does not lock) creates the session file while
// such a lock is held, the lock's Read waits for that file's flock and
// reads what was written, and the lock's Write fails with
// core.ErrLockLost rather than overwrite a record it never saw.
//
// The returned lock reads and writes through the locked descriptor
// (core.LockedReader, core.LockedWriter) and Unlock releases it. There is
// no TTL: the kernel releases a flock when its holder's process dies, so a
// crashed holder never blocks the session (its lock file, if it had one,
// stays until GC removes it). Lock waits until ctx is done.
func (s *Store) Lock(ctx context.Context, id string) (core.Lock, error) {
	if err := s.begin(ctx, id); err != nil {
		return nil, err
	}
	l := &fileLock{s: s, id: id}
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.held[id] = l
	s.mu.Unlock()
	return l, nil
}

// fileLock is a held session lock: an open, flocked session file, or,
// while there was none, an open, flocked lock file. While it holds the
// session file, the store's own Read, Write and Swap of the session go
// through it (under mu) instead of taking the flock, which they could not
// get: flock excludes other descriptors of the same process too.
type fileLock struct {
	s    *Store
	id   string
	mu   sync.Mutex
	h    *handle  // the locked session file; nil while there is none
	lf   *os.File // the locked lock file, if the session file did not exist
	done bool     // unlocked
}

// acquire locks the session file if it exists, else the lock file. A
// session file that appears while Lock waits for the lock file wins: Lock
// starts over on it.
func (l *fileLock) acquire(ctx context.Context) error {
	lockPath := l.s.lockPath(l.id)
	for attempt := 0; attempt < maxReopen; attempt++ {
		h, err := l.s.open(ctx, l.id, openExisting, lockExclusive)
		if err != nil {
			return err
		}
		if h != nil {
			l.h = h
			return nil
		}
		lf, err := l.s.lockFile(ctx, lockPath)
		if err != nil {
			return err
		}
		if lf == nil {
			continue // removed by its holder while we waited
		}
		present, err := l.s.present(l.id)
		if err != nil || present {
			if derr := dropLockFile(lf, lockPath); err == nil {
				err = derr
			}
			if err != nil {
				return err
			}
			continue
		}
		l.lf = lf
		return nil
	}
	return errors.New("filestore: session file keeps appearing and vanishing while locking it")
}

// Read reads the session through the locked descriptor. Under a lock
// file it looks for a session file created meanwhile (by PHP, or by a
// Write) and, if there is one, locks it too (waiting, bounded by ctx) and
// reads it.
func (l *fileLock) Read(ctx context.Context) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("filestore: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return nil, false, fmt.Errorf("filestore: read after unlock: %w", core.ErrLockLost)
	}
	if l.h == nil {
		h, err := l.s.open(ctx, l.id, openExisting, lockExclusive)
		if err != nil || h == nil {
			return nil, false, err
		}
		l.h = h
	}
	fi, err := l.s.check(l.h.f)
	if err != nil {
		return nil, false, err
	}
	return l.h.read(fi, time.Now())
}

// Write replaces the session in place through the locked descriptor. It
// fails with core.ErrLockLost after Unlock, or when the session file was
// destroyed meanwhile (destroy wins). Under a lock file it creates the
// session file, exclusively: if someone else created it since Lock, it
// fails with core.ErrLockLost. If the first write of a session file it
// created fails, it removes the file again.
func (l *fileLock) Write(ctx context.Context, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return fmt.Errorf("filestore: write after unlock: %w", core.ErrLockLost)
	}
	if l.h != nil {
		err := l.h.write(data, expiry, nil)
		if errors.Is(err, errUnlinked) {
			return fmt.Errorf("filestore: session destroyed while locked: %w", core.ErrLockLost)
		}
		return err
	}
	h, err := l.s.open(ctx, l.id, createOnly, lockExclusive)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("filestore: session created by another writer while locked: %w", core.ErrLockLost)
	}
	if err != nil {
		return err
	}
	if !h.created && h.s.holdsRecord(h.fi, time.Now()) {
		// Someone locked the new file before us and wrote it.
		h.release()
		return fmt.Errorf("filestore: session created by another writer while locked: %w", core.ErrLockLost)
	}
	if err := h.write(data, expiry, h.fi); err != nil {
		h.discard()
		h.release()
		return err
	}
	h.created = false
	l.h = h
	return nil
}

// Unlock releases the flocks and closes the files, removing the lock file
// if there was one. It always releases, even with a done ctx; a second
// Unlock is a no-op.
func (l *fileLock) Unlock(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return nil
	}
	l.done = true
	l.s.mu.Lock()
	if l.s.held[l.id] == l {
		delete(l.s.held, l.id)
	}
	l.s.mu.Unlock()
	var err error
	if l.h != nil {
		err = l.h.release()
		l.h = nil
	}
	if l.lf != nil {
		if lerr := dropLockFile(l.lf, l.s.lockPath(l.id)); err == nil {
			err = lerr
		}
		l.lf = nil
	}
	return err
}

// viaHolder runs fn on the session file of the lock this process holds on
// id, if any, and reports whether it did. A holder whose file was
// destroyed (fn returns errUnlinked) does not count, nor does one holding
// only a lock file: the caller goes on to the file the name means now.
func (s *Store) viaHolder(id string, fn func(h *handle) error) (bool, error) {
	s.mu.Lock()
	l := s.held[id]
	s.mu.Unlock()
	if l == nil {
		return false, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done || l.h == nil {
		return false, nil
	}
	if err := fn(l.h); !errors.Is(err, errUnlinked) {
		return true, err
	}
	return false, nil
}

// lockFile opens (creating it if absent) and flocks the lock file at path,
// waiting until ctx is done. It returns nil, nil when the file was removed
// by its previous holder while we waited: the caller starts over.
func (s *Store) lockFile(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|openFlags, s.mode)
	if errors.Is(err, syscall.ELOOP) {
		return nil, unsafePath("lock file is a symbolic link")
	}
	if err != nil {
		return nil, fsErr("open lock file", err)
	}
	if err := waitLock(ctx, f, lockExclusive); err != nil {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fsErr("stat lock file", err)
	}
	if !fi.Mode().IsRegular() || !s.ownedByUs(fi) {
		f.Close()
		return nil, unsafePath("lock file is not a regular file of ours")
	}
	if _, nlink, _ := fileInfo(fi); nlink == 0 {
		f.Close()
		return nil, nil
	}
	return f, nil
}

// dropLockFile removes the lock file f, flocked by the caller, and closes
// it. Removing it before the close, while still holding the flock, is what
// keeps lock files safe: a waiter that opened it gets the flock on an
// unlinked file, sees that and starts over, and no one else removes a
// lock file without holding its flock, so the name still means f.
func dropLockFile(f *os.File, path string) error {
	var err error
	if fi, serr := f.Stat(); serr == nil {
		if cur, lerr := os.Lstat(path); lerr == nil && os.SameFile(fi, cur) {
			if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = fsErr("remove lock file", rerr)
			}
		}
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fsErr("close lock file", cerr)
	}
	return err
}

// present reports whether id's session file exists (as anything: open
// then decides whether it may be used).
func (s *Store) present(id string) (bool, error) {
	n, err := s.locate(id, false)
	if errors.Is(err, errNoDir) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := os.Lstat(n.data); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fsErr("stat", err)
	}
	return true, nil
}

// handle is an open session file holding a flock.
type handle struct {
	s        *Store
	f        *os.File
	fi       os.FileInfo // as stat'ed right after locking
	n        names
	writable bool // opened read-write and locked exclusively
	// created: open created the file and locked it before anyone else
	// could have, so until its first write it holds nothing of anyone's.
	created bool
}

// release closes the file, which drops its flock: a Go File is the only
// descriptor of its open file description.
func (h *handle) release() error {
	if err := h.f.Close(); err != nil {
		return fsErr("close", err)
	}
	return nil
}

// discard removes the session file h created, after its first write
// failed (a full disk, a read-only file system), so a failed new session
// leaves nothing behind. It only removes a file that is still empty,
// clean and linked once, under the name that still means it, while h
// holds its flock: nobody else has locked it since it was created, so the
// empty file cannot be a session someone else wrote empty (PHP writes
// empty sessions as empty files). What stays possible: a Destroy or GC
// unlinking it and a writer creating a new file under the name between
// the check and the removal; the ID was minted by this request and no
// one else knows it yet, so nobody does that. Errors are ignored: the
// caller reports the write's.
func (h *handle) discard() {
	if !h.created {
		return
	}
	h.created = false
	fi, err := h.f.Stat()
	if err != nil || fi.Size() != 0 || fi.Mode()&dirtyBit != 0 {
		return
	}
	if _, nlink, _ := fileInfo(fi); nlink != 1 {
		return
	}
	if cur, err := os.Lstat(h.n.data); err != nil || !os.SameFile(fi, cur) {
		return
	}
	_ = os.Remove(h.n.data)
}

// How open treats an absent session file.
const (
	openExisting = iota // absent: (nil, nil)
	openOrCreate        // absent: create it
	createOnly          // present: an error wrapping fs.ErrExist
)

// open opens id's session file and locks it with the given flock kind
// (lockShared or lockExclusive; an exclusive handle is writable). A file
// it creates is created exclusively (O_EXCL) with Options.Mode, its
// subdirectories with Options.DirMode, and locked at once, as PHP does. A
// recovery file left by a writer that died or failed is applied before
// open returns.
func (s *Store) open(ctx context.Context, id string, mode, how int) (*handle, error) {
	n, err := s.locate(id, mode != openExisting)
	if errors.Is(err, errNoDir) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	flags := os.O_RDONLY
	if how == lockExclusive {
		flags = os.O_RDWR
	}
	for attempt := 0; attempt < maxReopen; attempt++ {
		var f *os.File
		var err error
		created := false
		if mode != createOnly {
			f, err = os.OpenFile(n.data, flags|openFlags, 0)
		}
		if mode == createOnly || mode == openOrCreate && errors.Is(err, fs.ErrNotExist) {
			f, err = os.OpenFile(n.data, flags|os.O_CREATE|os.O_EXCL|openFlags, s.mode)
			if mode == openOrCreate && errors.Is(err, fs.ErrExist) {
				continue // created by someone else just now: open theirs
			}
			created = err == nil
		}
		if mode == openExisting && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if errors.Is(err, syscall.ELOOP) {
			return nil, unsafePath("session file is a symbolic link")
		}
		if err != nil {
			return nil, fsErr("open", err)
		}
		if created {
			// Locked before anyone else could: nobody else has seen the
			// file empty and locked, so it holds nothing of theirs.
			created, err = tryLock(f, how)
			if err != nil {
				f.Close()
				return nil, fsErr("flock", err)
			}
		}
		if !created {
			if err := waitLock(ctx, f, how); err != nil {
				f.Close()
				return nil, err
			}
		}
		h := &handle{s: s, f: f, n: n, writable: how == lockExclusive, created: created}
		fi, err := s.check(f)
		if err != nil {
			h.release()
			return nil, err
		}
		if _, nlink, _ := fileInfo(fi); nlink == 0 {
			// Destroyed or collected between our open and our flock:
			// the name now means a different (or no) file.
			h.release()
			if mode == createOnly {
				return nil, fmt.Errorf("filestore: session file destroyed while being created: %w", fs.ErrExist)
			}
			continue
		}
		h.fi = fi
		if fi.Mode()&dirtyBit != 0 {
			if how != lockExclusive {
				// Restoring needs the exclusive lock and a writable
				// descriptor; reopen that way, without creating.
				h.release()
				return s.open(ctx, id, openExisting, lockExclusive)
			}
			if err := h.recoverUndo(); err != nil {
				h.release()
				return nil, err
			}
		}
		return h, nil
	}
	return nil, errors.New("filestore: session file keeps being replaced while opening it")
}

// waitLock takes a flock of kind how on f, polling with exponential backoff
// until it is held or ctx is done.
func waitLock(ctx context.Context, f *os.File, how int) error {
	backoff := minBackoff
	var timer *time.Timer
	for {
		ok, err := tryLock(f, how)
		if err != nil {
			return fsErr("flock", err)
		}
		if ok {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(backoff)
			defer timer.Stop()
		} else {
			timer.Reset(backoff)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("filestore: waiting for the session lock: %w", ctx.Err())
		case <-timer.C:
		}
		if backoff *= 2; backoff > maxBackoff {
			backoff = maxBackoff
		}
	}
}
