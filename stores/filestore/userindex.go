package filestore

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The user index lives in one directory beside the sessions (see doc.go,
// "User index"):
//
//	<dir>/.u/key                  the store's index key, 32 random bytes
//	<dir>/.u/<h:2>/<h>/<id>       one empty file per session id of the user
//
// where h is the first 16 bytes of HMAC-SHA256(key, user) in hex: a
// directory listing shows neither user names nor hashes that a dictionary
// of user names could be matched against, and the entries are named by
// session ID, as sess_ files already are. No name in it starts with sess_,
// so neither PHP's GC nor Debian's cron job (find -name 'sess_*') touch it.
const (
	indexDir     = ".u"
	indexKeyName = "key"
	indexKeyLen  = 32
	userHashLen  = 16 // bytes of the HMAC kept, 32 hex characters
)

// errNoIndex reports that the index (its key or the user's directory) does
// not exist yet, so the user has no entries.
var errNoIndex = errors.New("filestore: no user index")

// AddUserSession records that session id belongs to user, as an empty file
// named id in the user's index directory. The entry carries no expiry: it
// stands for whatever the session file holds, and GC and UserSessions drop
// it once that is no live record (expired, destroyed, or deleted by PHP's
// GC, which knows nothing of the index). Safe across processes: GC and
// UserSessions only remove an entry under its exclusive flock after
// checking its session, and AddUserSession takes a shared flock on the
// entry it made, so an entry added after a session was written is never
// pruned as stale.
func (s *Store) AddUserSession(ctx context.Context, user, id string, _ time.Time) error {
	if err := s.beginUser(ctx, user, id); err != nil {
		return err
	}
	key, err := s.indexKey(true)
	if err != nil {
		return err
	}
	for attempt := 0; attempt < maxReopen; attempt++ {
		dir, err := s.userDir(key, user, true)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(dir, id), os.O_RDONLY|os.O_CREATE|openFlags, s.mode)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the user's directory was removed as empty meanwhile
		}
		if errors.Is(err, syscall.ELOOP) {
			return unsafePath("user index entry is a symbolic link")
		}
		if err != nil {
			return fsErr("add user session", err)
		}
		err = waitLock(ctx, f, lockShared)
		var fi os.FileInfo
		if err == nil {
			fi, err = f.Stat()
			if err != nil {
				err = fsErr("add user session", err)
			}
		}
		f.Close()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() || !s.ownedByUs(fi) {
			return unsafePath("user index entry is not a regular file of ours")
		}
		if _, nlink, _ := fileInfo(fi); nlink != 0 {
			return nil
		}
		// Pruned between our open and our flock: make it again.
	}
	return errors.New("filestore: user index entry keeps vanishing while adding it")
}

// RemoveUserSession forgets one session of user, and the user's index
// directory with its last entry. Forgetting an unknown pair is not an
// error.
func (s *Store) RemoveUserSession(ctx context.Context, user, id string) error {
	if err := s.beginUser(ctx, user, id); err != nil {
		return err
	}
	key, err := s.indexKey(false)
	if errors.Is(err, errNoIndex) {
		return nil
	}
	if err != nil {
		return err
	}
	dir, err := s.userDir(key, user, false)
	if errors.Is(err, errNoIndex) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fsErr("remove user session", err)
	}
	removeIfEmpty(dir)
	return nil
}

// UserSessions lists the IDs of user's sessions by reading the user's
// index directory: its cost grows with the user's sessions, never with
// the store's. An entry whose session file holds no live record any more
// (PHP's GC deleted it, it expired, a removal failed) is dropped here and
// not listed.
func (s *Store) UserSessions(ctx context.Context, user string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if user == "" {
		return nil, nil
	}
	key, err := s.indexKey(false)
	if errors.Is(err, errNoIndex) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dir, err := s.userDir(key, user, false)
	if errors.Is(err, errNoIndex) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	err = s.entries(ctx, dir, func(id string) error {
		pruned, err := s.pruneEntry(filepath.Join(dir, id), id, time.Now())
		if err != nil {
			return err
		}
		if !pruned {
			ids = append(ids, id)
		}
		return nil
	})
	if len(ids) == 0 && err == nil {
		removeIfEmpty(dir)
	}
	return ids, err
}

// beginUser checks ctx, the user and the session ID.
func (s *Store) beginUser(ctx context.Context, user, id string) error {
	if err := s.begin(ctx, id); err != nil {
		return err
	}
	if user == "" {
		return errors.New("filestore: user index: empty user name")
	}
	return nil
}

// indexKey returns the index key, reading it from disk once per Store and,
// with create, making it (and the index directory) if it does not exist.
// Without create a missing key is errNoIndex. Several processes creating
// it at once agree on one: each writes its own candidate under a unique
// temporary name and links it to the key's name, which only the first
// link gets.
func (s *Store) indexKey(create bool) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	top, err := s.checkDir(filepath.Join(s.dir, indexDir), create)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(top, indexKeyName)
	key, err := readKey(path, s)
	if errors.Is(err, errNoIndex) && create {
		key, err = s.makeKey(top, path)
	}
	if err != nil {
		return nil, err
	}
	s.key = key
	return key, nil
}

// readKey reads the key file at path: a regular file of ours holding
// exactly indexKeyLen bytes.
func readKey(path string, s *Store) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoIndex
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, unsafePath("user index key is a symbolic link")
	}
	if err != nil {
		return nil, fsErr("read user index key", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fsErr("read user index key", err)
	}
	if !fi.Mode().IsRegular() || !s.ownedByUs(fi) {
		return nil, unsafePath("user index key is not a regular file of ours")
	}
	if fi.Size() != indexKeyLen {
		return nil, fmt.Errorf("filestore: user index key has %d bytes, want %d", fi.Size(), indexKeyLen)
	}
	key := make([]byte, indexKeyLen)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fsErr("read user index key", err)
	}
	return key, nil
}

// makeKey creates the key file at path in the index directory top, or
// reads the one another process created first.
func (s *Store) makeKey(top, path string) ([]byte, error) {
	key := make([]byte, indexKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("filestore: user index key: %w", err)
	}
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return nil, fmt.Errorf("filestore: user index key: %w", err)
	}
	tmp := filepath.Join(top, ".key-"+hex.EncodeToString(suffix[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|openFlags, 0o600)
	if err != nil {
		return nil, fsErr("create user index key", err)
	}
	_, err = f.Write(key)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp, path)
	}
	_ = os.Remove(tmp)
	if errors.Is(err, fs.ErrExist) {
		return readKey(path, s)
	}
	if err != nil {
		return nil, fsErr("create user index key", err)
	}
	return key, nil
}

// userHash is the name of user's index directory under key.
func userHash(key []byte, user string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(user))
	return hex.EncodeToString(mac.Sum(nil)[:userHashLen])
}

// userDir returns user's index directory, checking each level with Lstat
// (a real directory of ours, never a link) and, with create, making the
// missing ones; without, a missing one is errNoIndex.
func (s *Store) userDir(key []byte, user string, create bool) (string, error) {
	h := userHash(key, user)
	p := filepath.Join(s.dir, indexDir)
	for _, part := range []string{h[:2], h} {
		var err error
		if p, err = s.checkDir(filepath.Join(p, part), create); err != nil {
			return "", err
		}
	}
	return p, nil
}

// checkDir checks that p is a real directory of ours, making it first with
// create if it is missing; without create a missing p is errNoIndex.
func (s *Store) checkDir(p string, create bool) (string, error) {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return "", errNoIndex
		}
		if err = os.Mkdir(p, s.dirMode); err == nil || errors.Is(err, fs.ErrExist) {
			fi, err = os.Lstat(p)
		}
	}
	if err != nil {
		return "", fsErr("user index directory", err)
	}
	if !fi.IsDir() {
		return "", unsafePath("a user index directory is not a directory (a symbolic link?)")
	}
	if !s.ownedByUs(fi) {
		return "", unsafePath("a user index directory is owned by another user")
	}
	return p, nil
}

// removeIfEmpty removes an index directory that has no entries left. A
// directory that is not empty stays (rmdir refuses it); an AddUserSession
// that finds its directory gone makes it again.
func removeIfEmpty(dir string) { _ = os.Remove(dir) }

// entries calls fn with every name in the user index directory dir that is
// a valid session ID, reading the directory in batches.
func (s *Store) entries(ctx context.Context, dir string, fn func(id string) error) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fsErr("user index", err)
	}
	defer d.Close()
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("filestore: user index: %w", err)
		}
		names, err := d.Readdirnames(gcBatch)
		for _, name := range names {
			if checkID(name, s.depth) != nil {
				continue
			}
			if ferr := fn(name); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fsErr("user index", err)
		}
	}
}

// pruneEntry removes the index entry at path when session id holds no
// live record at now, and reports whether it did. It holds the entry's
// exclusive flock while it checks the session and removes the entry, so
// an AddUserSession (which flocks the entry it made after its session was
// written) either finishes before the check, which then sees the session,
// or finds the entry unlinked and makes it again. An entry someone holds
// is left alone.
func (s *Store) pruneEntry(path, id string, now time.Time) (bool, error) {
	live, err := s.liveRecord(id, now)
	if err != nil || live {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if errors.Is(err, syscall.ELOOP) {
		return false, unsafePath("user index entry is a symbolic link")
	}
	if err != nil {
		return false, fsErr("user index", err)
	}
	defer f.Close()
	ok, err := tryLock(f, lockExclusive)
	if err != nil {
		return false, fsErr("flock", err)
	}
	if !ok {
		return false, nil
	}
	if live, err := s.liveRecord(id, now); err != nil || live {
		return false, err
	}
	fi, err := f.Stat()
	if err != nil {
		return false, fsErr("user index", err)
	}
	if cur, err := os.Lstat(path); err != nil || !os.SameFile(fi, cur) {
		return true, nil // removed, or replaced by a new entry: not ours to remove
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fsErr("user index", err)
	}
	return true, nil
}

// liveRecord reports whether id's session file holds a live record at now,
// by its stat alone (Exists' rule): an absent, expired, never-written or
// unsafe file holds none.
func (s *Store) liveRecord(id string, now time.Time) (bool, error) {
	live, err := s.stillLive(id, now, "user index")
	if errors.Is(err, errUnsafe) {
		return false, nil
	}
	return live, err
}

// index is GC's pass over the user index: it drops the entries whose
// session holds no live record at g.now and the user directories left
// empty. Its cost grows with the index, as GC's pass over the sessions
// grows with them.
func (g *gcRun) index(ctx context.Context) error {
	top := filepath.Join(g.s.dir, indexDir)
	fi, err := os.Lstat(top)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fsErr("gc", err)
	}
	if !fi.IsDir() || !g.s.ownedByUs(fi) {
		g.note(unsafePath("the user index directory is not a directory of ours"))
		return nil
	}
	return g.indexLevel(ctx, top, 0)
}

// indexLevel visits dir, level 0 (the index directory: the buckets), 1 (a
// bucket: the user directories) or 2 (a user directory: the entries).
func (g *gcRun) indexLevel(ctx context.Context, dir string, level int) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
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
			p := filepath.Join(dir, name)
			switch {
			case level == 2:
				if checkID(name, g.s.depth) == nil {
					_, perr := g.s.pruneEntry(p, name, g.now)
					g.note(perr)
				}
			case e.IsDir() && isHex(name, level):
				fi, ierr := e.Info()
				if ierr != nil || !g.s.ownedByUs(fi) {
					continue
				}
				if werr := g.indexLevel(ctx, p, level+1); werr != nil {
					return werr
				}
				if level == 1 {
					removeIfEmpty(p)
				}
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

// isHex reports whether name is the name of an index directory at level:
// a bucket (two lower-case hexadecimal digits) at 0, a user directory (a
// whole hash) at 1.
func isHex(name string, level int) bool {
	n := 2
	if level == 1 {
		n = 2 * userHashLen
	}
	if len(name) != n {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
