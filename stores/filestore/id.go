package filestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sessionkit/sessionkit/core"
)

// MaxIDLength is the longest ID the store accepts: a file name may have 255
// bytes (NAME_MAX) and "sess_" takes five of them. PHP accepts 256-byte IDs
// but its files handler then fails to open the file; Symfony caps file
// session IDs at 250 for the same reason, and so does core (core.MaxIDLength),
// so every ID core lets through has a file name here.
const MaxIDLength = 250

// The names of a session's files, beside each other in its directory:
// filePrefix is PHP's session file; undoPrefix the recovery file that holds
// the old content while a write that is not a single page is in progress
// (its names, like lockPrefix's, fit NAME_MAX for every accepted ID).
// lockPrefix names the lock file Lock takes, in the store's top directory,
// while no session file exists (lock.go).
const (
	filePrefix = "sess_"
	undoPrefix = ".r_"
	lockPrefix = ".l_"
)

// errNoDir reports that a session's subdirectory does not exist, so neither
// does the session.
var errNoDir = errors.New("filestore: session directory does not exist")

// errUnsafe marks a path the store refuses to use because it was not made
// the way this store or PHP makes session files: a symbolic link, a file
// with other hard links, something other than a regular file or directory,
// or one owned by another user. Such a thing may have been planted by
// someone who can write to the session directory, to make the store read or
// write another file.
var errUnsafe = errors.New("filestore: refusing an unsafe session path")

func unsafePath(what string) error { return fmt.Errorf("%w: %s", errUnsafe, what) }

// checkID enforces PHP's php_session_valid_key ([A-Za-z0-9,-]) and the
// length limit before any path is built from id. It allow-lists bytes
// instead of rejecting known-bad ones, so "..", separators of any OS, NUL,
// CR/LF and non-ASCII never reach the file system. The error never repeats
// the ID.
func checkID(id string, depth int) error {
	if len(id) == 0 || len(id) > MaxIDLength {
		return fmt.Errorf("filestore: %w: length %d, want 1 to %d", core.ErrInvalidID, len(id), MaxIDLength)
	}
	if len(id) <= depth {
		return fmt.Errorf("filestore: %w: length %d is not longer than the directory depth %d", core.ErrInvalidID, len(id), depth)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == ',', c == '-':
		default:
			return fmt.Errorf("filestore: %w: byte %d is outside [A-Za-z0-9,-]", core.ErrInvalidID, i)
		}
	}
	return nil
}

// names are the paths of one session's files.
type names struct {
	data string // sess_<id>, PHP's session file
	undo string // .r_<id>, the recovery file of a write in progress
}

// sessionDir is the directory holding id's files: the store's directory
// plus one level per Options.Depth, named by the ID's leading characters
// (PHP's layout). id must have passed checkID.
func (s *Store) sessionDir(id string) string {
	if s.depth == 0 {
		return s.dir
	}
	parts := make([]string, 0, s.depth+1)
	parts = append(parts, s.dir)
	for i := 0; i < s.depth; i++ {
		parts = append(parts, id[i:i+1])
	}
	return filepath.Join(parts...)
}

// names returns the paths of id's files, without looking at the disk. id
// must have passed checkID.
func (s *Store) names(id string) names {
	d := s.sessionDir(id)
	return names{
		data: filepath.Join(d, filePrefix+id),
		undo: filepath.Join(d, undoPrefix+id),
	}
}

// lockPath is the lock file Lock takes while id has no session file: in
// the top directory, so that locking an unknown ID creates no
// subdirectory.
func (s *Store) lockPath(id string) string {
	return filepath.Join(s.dir, lockPrefix+id)
}

// locate returns the paths of id's files after checking, one level at a
// time with Lstat, that each subdirectory on the way is a real directory
// owned by this user or root, never a symbolic link, so a planted link
// cannot send the session's files elsewhere. With create it makes the
// missing ones (one Mkdir per level, which follows no link either);
// without, a missing one is errNoDir.
//
// A check is not an open: someone who can replace a checked subdirectory
// between the check and the use could still redirect it. That takes write
// permission on its parent and, in a directory with the sticky bit such as
// Debian's /var/lib/php/sessions (1733), ownership of the subdirectory,
// which the owner check has just ruled out.
func (s *Store) locate(id string, create bool) (names, error) {
	p := s.dir
	for i := 0; i < s.depth; i++ {
		p = filepath.Join(p, id[i:i+1])
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			if !create {
				return names{}, errNoDir
			}
			if err = os.Mkdir(p, s.dirMode); err == nil || errors.Is(err, fs.ErrExist) {
				fi, err = os.Lstat(p)
			}
		}
		if err != nil {
			return names{}, fsErr("session directory", err)
		}
		if !fi.IsDir() {
			return names{}, unsafePath("a session subdirectory is not a directory (a symbolic link?)")
		}
		if !s.ownedByUs(fi) {
			return names{}, unsafePath("a session subdirectory is owned by another user")
		}
	}
	return s.names(id), nil
}
