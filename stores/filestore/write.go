package filestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"time"
)

// Writes happen in place on the locked session file, never as a new file
// renamed over it: a PHP process (or any flock waiter) blocked on the old
// file would otherwise get the lock on an unlinked inode, read stale data
// and lose its write. In place, though, a process killed in the middle of
// a write could leave the new bytes over the tail of the old ones. So:
//
//   - A write of at most one page that does not shrink the file is a single
//     pwrite at offset 0: the kernel copies one page or none, and a killed
//     process leaves the old or the new content.
//   - Any other write first stores the new content, with a checksum, in the
//     session's redo file (.r_<id> beside sess_<id>), marks the session
//     file dirty (the owner-execute bit, which session files never carry
//     otherwise), pwrites the payload at offset 0, ftruncates to its
//     length (never to 0 first, so the file is never empty midway), clears
//     the mark and removes the redo file. Whoever locks a dirty session
//     next finishes the write from the redo file if it is complete and
//     meant for this inode, else discards it; a clean session costs
//     readers no extra system call. PHP does not know redo files: a PHP
//     process locking a session right after a Go writer died mid-write may
//     see the torn file.

// dirtyBit marks a session file whose write may be unfinished.
const dirtyBit = 0o100

// redoTrailer follows the payload in a redo file: inode, mtime (unix ns),
// payload length, CRC-32C of everything before it, magic.
const (
	redoTrailerLen = 8 + 8 + 8 + 4 + 4
	redoMagic      = "SKr1"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// read returns the live record in the locked file described by fi.
func (h *handle) read(fi os.FileInfo, now time.Time) ([]byte, bool, error) {
	if !h.s.holdsRecord(fi, now) {
		return nil, false, nil
	}
	data := make([]byte, fi.Size())
	n, err := h.f.ReadAt(data, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, fsErr("read", err)
	}
	return data[:n], true, nil
}

// write replaces the locked file's content with data and its mtime with
// the encoding of expiry. fi is the file's stat if the caller has a fresh
// one, nil to stat again. It returns errUnlinked when the file was
// destroyed while locked.
func (h *handle) write(data []byte, expiry time.Time, fi os.FileInfo) error {
	if fi == nil {
		var err error
		if fi, err = h.f.Stat(); err != nil {
			return fsErr("stat", err)
		}
	}
	ino, nlink, _ := fileInfo(fi)
	if nlink == 0 {
		return errUnlinked
	}
	mtime := h.s.mtimeFor(expiry)
	if int64(len(data)) >= fi.Size() && len(data) <= h.s.pageSize {
		return h.apply(data, fi.Size(), mtime)
	}
	if err := h.writeRedo(data, ino, mtime); err != nil {
		return err
	}
	perm := fi.Mode().Perm() &^ dirtyBit
	if err := h.f.Chmod(perm | dirtyBit); err != nil {
		return fsErr("mark dirty", err)
	}
	if err := h.apply(data, fi.Size(), mtime); err != nil {
		return err
	}
	return h.clean(perm)
}

// clean clears the dirty mark, then removes the redo file.
func (h *handle) clean(perm os.FileMode) error {
	if err := h.f.Chmod(perm); err != nil {
		return fsErr("clear dirty mark", err)
	}
	if err := os.Remove(h.redo); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fsErr("remove redo file", err)
	}
	return nil
}

// apply writes data over the file's old content of length oldSize, trims
// what is left of the old content and sets the mtime.
func (h *handle) apply(data []byte, oldSize int64, mtime time.Time) error {
	if _, err := h.f.WriteAt(data, 0); err != nil {
		return fsErr("write", err)
	}
	if int64(len(data)) < oldSize {
		if err := h.f.Truncate(int64(len(data))); err != nil {
			return fsErr("truncate", err)
		}
	}
	if err := setMtime(h.f, mtime); err != nil {
		return fsErr("set mtime", err)
	}
	if h.s.sync {
		if err := h.f.Sync(); err != nil {
			return fsErr("sync", err)
		}
	}
	return nil
}

// writeRedo stores data, the target inode and mtime in the redo file.
func (h *handle) writeRedo(data []byte, ino uint64, mtime time.Time) error {
	var tr [redoTrailerLen]byte
	binary.LittleEndian.PutUint64(tr[0:], ino)
	binary.LittleEndian.PutUint64(tr[8:], uint64(mtime.UnixNano()))
	binary.LittleEndian.PutUint64(tr[16:], uint64(len(data)))
	crc := crc32.Update(crc32.Checksum(data, crcTable), crcTable, tr[:24])
	binary.LittleEndian.PutUint32(tr[24:], crc)
	copy(tr[28:], redoMagic)

	f, err := os.OpenFile(h.redo, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|openFlags, h.s.mode)
	if err != nil {
		return fsErr("create redo file", err)
	}
	// One write system call: they cost more than the copy.
	buf := make([]byte, 0, len(data)+len(tr))
	_, err = f.Write(append(append(buf, data...), tr[:]...))
	if err == nil && h.s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fsErr("write redo file", err)
	}
	return nil
}

// recoverRedo finishes the write a dead writer left in the redo file, if
// that file is complete and meant for the locked inode, then clears the
// dirty mark and removes the redo file. The caller holds the exclusive
// lock on a writable descriptor of a dirty session file.
func (h *handle) recoverRedo() error {
	data, ino, mtime, ok, err := h.loadRedo()
	if err != nil {
		return err
	}
	cur, err := h.f.Stat()
	if err != nil {
		return fsErr("stat", err)
	}
	if curIno, _, _ := fileInfo(cur); ok && curIno == ino {
		if err := h.apply(data, cur.Size(), mtime); err != nil {
			return err
		}
	}
	if err := h.clean(cur.Mode().Perm() &^ dirtyBit); err != nil {
		return err
	}
	fi, err := h.s.check(h.f)
	if err != nil {
		return err
	}
	h.fi = fi
	return nil
}

// loadRedo reads and verifies the redo file. ok is false when it is
// absent, torn or not a regular file of ours.
func (h *handle) loadRedo() (data []byte, ino uint64, mtime time.Time, ok bool, err error) {
	f, err := os.OpenFile(h.redo, os.O_RDONLY|openFlags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, time.Time{}, false, nil
		}
		return nil, 0, time.Time{}, false, fsErr("open redo file", err)
	}
	defer f.Close()
	fi, err := h.s.check(f)
	if err != nil || fi.Size() < redoTrailerLen {
		return nil, 0, time.Time{}, false, nil
	}
	buf := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, 0, time.Time{}, false, nil
	}
	body, tr := buf[:len(buf)-redoTrailerLen], buf[len(buf)-redoTrailerLen:]
	if !bytes.Equal(tr[28:], []byte(redoMagic)) ||
		binary.LittleEndian.Uint64(tr[16:]) != uint64(len(body)) ||
		crc32.Update(crc32.Checksum(body, crcTable), crcTable, tr[:24]) != binary.LittleEndian.Uint32(tr[24:]) {
		return nil, 0, time.Time{}, false, nil
	}
	ino = binary.LittleEndian.Uint64(tr[0:])
	mtime = time.Unix(0, int64(binary.LittleEndian.Uint64(tr[8:])))
	return body, ino, mtime, true, nil
}
