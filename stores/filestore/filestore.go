package filestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// maxDepth bounds Options.Depth; PHP has no limit but every level is one
// directory lookup per request.
const maxDepth = 16

// Options configures a Store. The zero value is a flat directory of 0600
// files whose modification time is the record's expiry.
type Options struct {
	// Depth is PHP's "N;" save_path prefix: session files live N
	// subdirectories down, named by the ID's first N characters
	// (dir/a/b/sess_ab…). The store creates missing subdirectories; PHP
	// expects them to exist (mod_files.sh). 0 to 16.
	Depth int
	// Mode is the permission of new session files, PHP's "MODE;" prefix.
	// The process umask applies, as it does for PHP. Execute bits are
	// refused: the store uses the owner-execute bit to mark a file whose
	// write is in progress. Default 0600.
	Mode os.FileMode
	// DirMode is the permission of the subdirectories the store creates
	// when Depth > 0. Default 0700.
	DirMode os.FileMode
	// MaxLifetime selects the PHP-compatible expiry encoding and must equal
	// session.gc_maxlifetime when PHP shares the directory: a record
	// expires MaxLifetime after its file's modification time, so a file
	// PHP wrote at time t is live until t+MaxLifetime, and a record this
	// store writes with expiry e gets mtime e-MaxLifetime, which PHP's own
	// GC (now - mtime > gc_maxlifetime) removes at exactly e.
	//
	// Zero (the default, for directories only Go uses) stores the expiry
	// itself as the modification time: a record is live while its mtime
	// is in the future.
	MaxLifetime time.Duration
	// Sync makes every write fsync the session file (and the recovery
	// file of a write that needs one) before returning: durability across
	// power loss at the cost of disk flushes (four for a write that needs
	// a recovery file, which must be on disk before the session file is
	// overwritten). Without it a write survives a crash of the process
	// but not of the machine.
	Sync bool
}

// Store keeps each session in a file named sess_<id>, PHP's files handler
// layout, and locks it with flock(2) as PHP does. It is safe for
// concurrent use by goroutines and by processes sharing the directory.
type Store struct {
	dir         string
	depth       int
	mode        os.FileMode
	dirMode     os.FileMode
	maxLifetime time.Duration
	sync        bool
	pageSize    int
	euid        int

	mu   sync.Mutex
	held map[string]*fileLock // the session locks this process holds

	keyMu sync.Mutex
	key   []byte // the user index key, once read or made (userindex.go)
}

var (
	_ core.Store     = (*Store)(nil)
	_ core.Toucher   = (*Store)(nil)
	_ core.Exister   = (*Store)(nil)
	_ core.Collector = (*Store)(nil)
	_ core.Locker    = (*Store)(nil)
	_ core.Swapper   = (*Store)(nil)
	_ core.UserIndex = (*Store)(nil)
)

// New returns a Store keeping its files in dir, which must exist and be a
// directory; it is not created, as PHP does not create its save_path.
func New(dir string, opts Options) (*Store, error) {
	if !supported {
		return nil, fmt.Errorf("filestore: %w: flock(2) is not available on %s", core.ErrConfig, runtime.GOOS)
	}
	if opts.Depth < 0 || opts.Depth > maxDepth {
		return nil, fmt.Errorf("filestore: %w: Depth %d, want 0 to %d", core.ErrConfig, opts.Depth, maxDepth)
	}
	if opts.Mode&^fs.ModePerm != 0 || opts.DirMode&^fs.ModePerm != 0 {
		return nil, fmt.Errorf("filestore: %w: Mode and DirMode take permission bits only", core.ErrConfig)
	}
	if opts.Mode&0o111 != 0 {
		return nil, fmt.Errorf("filestore: %w: session files must not be executable (Mode %o)", core.ErrConfig, opts.Mode)
	}
	if opts.MaxLifetime < 0 {
		return nil, fmt.Errorf("filestore: %w: negative MaxLifetime", core.ErrConfig)
	}
	if dir == "" {
		return nil, fmt.Errorf("filestore: %w: empty directory", core.ErrConfig)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w: directory: %v", core.ErrConfig, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w: directory: %v", core.ErrConfig, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("filestore: %w: %s is not a directory", core.ErrConfig, abs)
	}
	s := &Store{
		dir:         abs,
		depth:       opts.Depth,
		mode:        opts.Mode,
		dirMode:     opts.DirMode,
		maxLifetime: opts.MaxLifetime,
		sync:        opts.Sync,
		pageSize:    os.Getpagesize(),
		euid:        os.Geteuid(),
		held:        make(map[string]*fileLock),
	}
	if s.mode == 0 {
		s.mode = 0o600
	}
	if s.dirMode == 0 {
		s.dirMode = 0o700
	}
	return s, nil
}

// Dir returns the absolute directory the store keeps its files in.
func (s *Store) Dir() string { return s.dir }

// Read returns the session's bytes, exactly as written (so a file PHP wrote
// reads as-is). A file that was created but never written (PHP creates one
// when it opens a session, Lock does too) is no record; a record written
// empty is found, with no bytes.
//
// Read never sees a write in progress: while this process holds the
// session's Lock it reads through the holder's descriptor, otherwise it
// takes a shared flock for the duration of the read, waiting (bounded by
// ctx) while another process, Go or PHP, holds the session's lock, as
// PHP's read_and_close does.
func (s *Store) Read(ctx context.Context, id string) ([]byte, bool, error) {
	if err := s.begin(ctx, id); err != nil {
		return nil, false, err
	}
	var data []byte
	var found bool
	handled, err := s.viaHolder(id, func(h *handle) error {
		fi, err := s.check(h.f)
		if err != nil {
			return err
		}
		data, found, err = h.read(fi, time.Now())
		return err
	})
	if handled {
		return data, found, err
	}
	h, err := s.open(ctx, id, openExisting, lockShared)
	if err != nil || h == nil {
		return nil, false, err
	}
	defer h.release()
	return h.read(h.fi, time.Now())
}

// Write replaces the session's bytes in place, creating the file if
// needed. While this process holds the session's Lock it writes through
// the holder's descriptor; otherwise it takes the session's exclusive
// flock for the duration of the write, waiting (bounded by ctx) while
// another process holds it.
//
// An error means nothing changed: the old record is still there and never
// turns into the new one later (see write.go), and a session file this
// call created is removed again.
func (s *Store) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.begin(ctx, id); err != nil {
		return err
	}
	return s.exclusive(ctx, id, openOrCreate, func(h *handle, fi os.FileInfo) error { return h.write(data, expiry, fi) })
}

// Swap writes new only if the live record equals old (or, with old == nil,
// only if there is no live record), comparing and writing under the
// session's exclusive flock, or through this process's holder of it.
func (s *Store) Swap(ctx context.Context, id string, old, new []byte, expiry time.Time) (bool, error) {
	if err := s.begin(ctx, id); err != nil {
		return false, err
	}
	mode := openExisting
	if old == nil {
		mode = openOrCreate
	}
	var swapped bool
	err := s.exclusive(ctx, id, mode, func(h *handle, fi os.FileInfo) error {
		swapped = false
		if fi == nil {
			var err error
			if fi, err = s.check(h.f); err != nil {
				return err
			}
		}
		cur, found, err := h.read(fi, time.Now())
		if err != nil {
			return err
		}
		if old == nil && found || old != nil && (!found || !bytes.Equal(cur, old)) {
			return nil
		}
		if err := h.write(new, expiry, fi); err != nil {
			return err
		}
		swapped = true
		return nil
	})
	return swapped, err
}

// exclusive runs fn on id's session file under its exclusive lock: the
// lock this process holds, if it does, else a flock taken for fn alone.
// fn gets the file's stat when it was just taken, nil otherwise. mode
// (openExisting or openOrCreate) says whether an absent file is created
// or fn is not run. A file created here that fn fails to write is removed
// again. When the file turns out to have been destroyed meanwhile (fn
// returns errUnlinked), it starts over on whatever the name means now.
func (s *Store) exclusive(ctx context.Context, id string, mode int, fn func(h *handle, fi os.FileInfo) error) error {
	for attempt := 0; attempt < maxReopen; attempt++ {
		if handled, err := s.viaHolder(id, func(h *handle) error { return fn(h, nil) }); handled {
			return err
		}
		h, err := s.open(ctx, id, mode, lockExclusive)
		if err != nil || h == nil {
			return err
		}
		err = fn(h, h.fi)
		if err != nil {
			h.discard()
		}
		h.release()
		if !errors.Is(err, errUnlinked) {
			return err
		}
	}
	return errors.New("filestore: session file keeps being destroyed while writing it")
}

// Destroy unlinks the session's file. It takes no lock, as PHP's destroy
// does not, so a request holding the session's Lock can destroy it; that
// holder's later writes through the Lock then fail with core.ErrLockLost
// instead of landing in the unlinked file.
func (s *Store) Destroy(ctx context.Context, id string) error {
	if err := s.begin(ctx, id); err != nil {
		return err
	}
	n, err := s.locate(id, false)
	if errors.Is(err, errNoDir) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(n.data); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fsErr("destroy", err)
	}
	if err := os.Remove(n.undo); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fsErr("destroy", err)
	}
	return nil
}

// Touch moves a live record's expiry by setting its file's modification
// time (PHP's updateTimestamp is utime). An absent, never-written or
// expired record is left alone. Touch takes no lock.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if err := s.begin(ctx, id); err != nil {
		return err
	}
	n, err := s.locate(id, false)
	if errors.Is(err, errNoDir) {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := os.OpenFile(n.data, os.O_RDONLY|openFlags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if errors.Is(err, syscall.ELOOP) {
		return unsafePath("session file is a symbolic link")
	}
	if err != nil {
		return fsErr("touch", err)
	}
	defer f.Close()
	fi, err := s.check(f)
	if err != nil {
		return err
	}
	if !s.holdsRecord(fi, time.Now()) {
		return nil
	}
	if err := setMtime(f, s.mtimeFor(expiry)); err != nil {
		return fsErr("touch", err)
	}
	return nil
}

// Exists reports whether a live record exists under id (PHP's
// validateId is a stat). It takes no lock. A file the store would refuse
// to read (a symbolic link, a file with other hard links) is no record.
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	if err := s.begin(ctx, id); err != nil {
		return false, err
	}
	return s.stillLive(id, time.Now(), "exists")
}

// stillLive is Exists' rule by the session file's stat alone: an absent,
// expired, never-written, linked or hard-linked file holds no live record at
// now. An unsafe path on the way is an error (errUnsafe); op names the
// caller in other errors.
func (s *Store) stillLive(id string, now time.Time, op string) (bool, error) {
	n, err := s.locate(id, false)
	if errors.Is(err, errNoDir) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fi, err := os.Lstat(n.data)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fsErr(op, err)
	}
	_, nlink, _ := fileInfo(fi)
	return fi.Mode().IsRegular() && nlink == 1 && s.holdsRecord(fi, now), nil
}

// begin checks ctx and id before any file system access.
func (s *Store) begin(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	return checkID(id, s.depth)
}

// live reports whether a file with fi's mtime has not expired at now.
func (s *Store) live(fi os.FileInfo, now time.Time) bool {
	return now.Before(fi.ModTime().Add(s.maxLifetime))
}

// holdsRecord reports whether fi describes a session file holding a live
// record at now. A blank file holds none.
func (s *Store) holdsRecord(fi os.FileInfo, now time.Time) bool {
	if _, nlink, _ := fileInfo(fi); nlink == 0 || !s.live(fi, now) {
		return false
	}
	return !blank(fi)
}

// blank reports whether fi describes a session file that was created but
// never written: PHP's read creates one for every ID it opens, and a
// session file this store creates is blank until its first write
// completes. It holds no record, even with MaxLifetime set, where PHP
// would count it: otherwise a file PHP opened for an unknown ID would make
// that ID known to Go's strict mode. Such a file is empty with mtime ==
// ctime, which every write breaks: it sets the mtime explicitly, after
// the kernel set the ctime. PHP writes an empty session as an empty file
// and, its data being unchanged, only utime()s it, which keeps mtime ==
// ctime: Go reads such a session as absent (it held nothing), and never
// removes the file for that reason (only Destroy and GC do).
func blank(fi os.FileInfo) bool {
	if fi.Size() != 0 {
		return false
	}
	ctime, ok := changeTime(fi)
	return ok && ctime.Equal(fi.ModTime())
}

// mtimeFor is the modification time that encodes expiry.
func (s *Store) mtimeFor(expiry time.Time) time.Time { return expiry.Add(-s.maxLifetime) }

// check verifies that an open session (or recovery) file is a regular file
// owned by this user or root (PHP's "Session data file is not created by
// your uid" check) with no other hard link, so a file planted in a shared
// directory is not trusted. A second link to a file this user may write
// (protected_hardlinks off, or a file of its own) would let a planted name
// make the store read or overwrite that file; replacing the file instead
// would break PHP's lock on it, so it is refused. A link count of 0 (the
// file was destroyed while open) is left to the caller.
func (s *Store) check(f *os.File) (os.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fsErr("stat", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, unsafePath("session file is not a regular file")
	}
	if !s.ownedByUs(fi) {
		return nil, unsafePath("session file is owned by another user")
	}
	if _, nlink, _ := fileInfo(fi); nlink > 1 {
		return nil, unsafePath("session file has other hard links")
	}
	return fi, nil
}

// ownedByUs applies PHP's ownership rule to a file or directory: owned by
// this user or root, or anything when running as root (as PHP does).
func (s *Store) ownedByUs(fi os.FileInfo) bool {
	_, _, uid := fileInfo(fi)
	return uid == -1 || s.euid == 0 || uid == 0 || uid == s.euid
}

// fsErr wraps an operating-system error without the path it names: the
// path holds the session ID, which must not reach logs.
func fsErr(op string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("filestore: %s: %s: %w", op, pe.Op, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("filestore: %s: %s: %w", op, le.Op, le.Err)
	}
	return fmt.Errorf("filestore: %s: %w", op, err)
}
