package filestore

import (
	"fmt"
	"path/filepath"

	"github.com/sessionkit/sessionkit/core"
)

// MaxIDLength is the longest ID the store accepts: a file name may have 255
// bytes (NAME_MAX) and "sess_" takes five of them. PHP accepts 256-byte IDs
// but its files handler then fails to open the file; Symfony caps file
// session IDs at 250 for the same reason.
const MaxIDLength = 250

// filePrefix and redoPrefix name a session's data file (PHP's name) and its
// redo file, the copy of an unfinished write kept only while one is running.
const (
	filePrefix = "sess_"
	redoPrefix = ".r_"
)

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

// paths returns id's data file and redo file. id must have passed checkID.
func (s *Store) paths(id string) (data, redo string) {
	d := s.sessionDir(id)
	return filepath.Join(d, filePrefix+id), filepath.Join(d, redoPrefix+id)
}
