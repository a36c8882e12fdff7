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
// itself, created (empty) if absent, exactly as PHP's files handler does on
// read, so Go and PHP processes sharing the directory serialise on it.
//
// The returned lock reads and writes through the locked descriptor
// (core.LockedReader, core.LockedWriter) and Unlock releases it. There is
// no TTL: the kernel releases a flock when its holder's process dies, so a
// crashed holder never blocks the session. Lock waits until ctx is done.
func (s *Store) Lock(ctx context.Context, id string) (core.Lock, error) {
	if err := s.begin(ctx, id); err != nil {
		return nil, err
	}
	h, err := s.open(ctx, id, true, lockExclusive)
	if err != nil {
		return nil, err
	}
	l := &fileLock{s: s, id: id, h: h}
	s.mu.Lock()
	s.held[id] = l
	s.mu.Unlock()
	return l, nil
}

// fileLock is a held session lock: an open, flocked session file. While
// it is held, the store's own Read, Write and Swap of the session go
// through it (under mu) instead of taking the flock, which they could not
// get: flock excludes other descriptors of the same process too.
type fileLock struct {
	s  *Store
	id string
	mu sync.Mutex
	h  *handle // nil once unlocked
}

// Read reads the session through the locked descriptor.
func (l *fileLock) Read(ctx context.Context) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("filestore: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.h == nil {
		return nil, false, fmt.Errorf("filestore: read after unlock: %w", core.ErrLockLost)
	}
	fi, err := l.h.s.check(l.h.f)
	if err != nil {
		return nil, false, err
	}
	return l.h.read(fi, time.Now())
}

// Write replaces the session in place through the locked descriptor. It
// fails with core.ErrLockLost after Unlock, or when the session file was
// destroyed meanwhile (destroy wins).
func (l *fileLock) Write(ctx context.Context, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.h == nil {
		return fmt.Errorf("filestore: write after unlock: %w", core.ErrLockLost)
	}
	err := l.h.write(data, expiry, nil)
	if errors.Is(err, errUnlinked) {
		return fmt.Errorf("filestore: session destroyed while locked: %w", core.ErrLockLost)
	}
	return err
}

// Unlock releases the flock and closes the file. It always releases, even
// with a done ctx; a second Unlock is a no-op.
func (l *fileLock) Unlock(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.h == nil {
		return nil
	}
	l.s.mu.Lock()
	if l.s.held[l.id] == l {
		delete(l.s.held, l.id)
	}
	l.s.mu.Unlock()
	err := l.h.release()
	l.h = nil
	return err
}

// viaHolder runs fn on the handle of the session lock this process holds
// on id, if any, and reports whether it did. A holder whose file was
// destroyed (fn returns errUnlinked) does not count: the caller goes on to
// the file the name means now.
func (s *Store) viaHolder(id string, fn func(h *handle) error) (bool, error) {
	s.mu.Lock()
	l := s.held[id]
	s.mu.Unlock()
	if l == nil {
		return false, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.h == nil {
		return false, nil
	}
	if err := fn(l.h); !errors.Is(err, errUnlinked) {
		return true, err
	}
	return false, nil
}

// handle is an open session file holding a flock.
type handle struct {
	s    *Store
	f    *os.File
	fi   os.FileInfo // as stat'ed right after locking
	redo string
}

// release closes the file, which drops its flock: a Go File is the only
// descriptor of its open file description.
func (h *handle) release() error {
	if err := h.f.Close(); err != nil {
		return fsErr("close", err)
	}
	return nil
}

// open opens id's session file and locks it with the given flock kind. With
// create it opens the file read-write and creates it (and its
// subdirectories) if absent, as PHP does; without create an absent file is
// (nil, nil). An exclusive handle is always writable. A redo file left by a
// writer that died is applied before open returns.
func (s *Store) open(ctx context.Context, id string, create bool, how int) (*handle, error) {
	path, redo := s.paths(id)
	flags := os.O_RDONLY
	if how == lockExclusive {
		flags = os.O_RDWR
	}
	if create {
		flags |= os.O_CREATE
	}
	madeDirs := false
	for attempt := 0; attempt < maxReopen; attempt++ {
		f, err := os.OpenFile(path, flags|openFlags, s.mode)
		if errors.Is(err, fs.ErrNotExist) {
			if !create {
				return nil, nil
			}
			if s.depth > 0 && !madeDirs {
				madeDirs = true
				if err := os.MkdirAll(s.sessionDir(id), s.dirMode); err != nil {
					return nil, fsErr("create directory", err)
				}
				continue
			}
		}
		if errors.Is(err, syscall.ELOOP) {
			return nil, errors.New("filestore: session file is a symbolic link")
		}
		if err != nil {
			return nil, fsErr("open", err)
		}
		if err := waitLock(ctx, f, how); err != nil {
			f.Close()
			return nil, err
		}
		h := &handle{s: s, f: f, redo: redo}
		fi, err := s.check(f)
		if err != nil {
			h.release()
			return nil, err
		}
		if _, nlink, _ := fileInfo(fi); nlink == 0 {
			// Destroyed or collected between our open and our flock:
			// the name now means a different (or no) file.
			h.release()
			continue
		}
		h.fi = fi
		if fi.Mode()&dirtyBit != 0 {
			if how != lockExclusive {
				// Repairing needs the exclusive lock and a writable
				// descriptor; reopen that way, without creating.
				h.release()
				return s.open(ctx, id, false, lockExclusive)
			}
			if err := h.recoverRedo(); err != nil {
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
