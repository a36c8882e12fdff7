package filestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"time"
)

// Writes happen in place on the locked session file, never as a new file
// renamed over it: a PHP process (or any flock waiter) blocked on the old
// file would otherwise get the lock on an unlinked inode, read stale data
// and lose its write. In place, though, a write that fails or is killed
// half way could leave the new bytes over the tail of the old ones. The
// rule is that a write either happened, and returned nil, or did not: an
// error means the old record is still there, and it never turns into the
// new one later (a 5xx is never a change that was applied). So:
//
//   - A write of at most one page that does not shrink the file is a single
//     pwrite at offset 0: the kernel copies one page or none, and a killed
//     process leaves the old or the new content. If it or the mtime update
//     after it fails, write puts the old bytes and mtime back before
//     returning the error.
//   - Any other write first saves the old content, its mtime and the
//     file's inode, with a checksum, in the session's recovery file
//     (.r_<id> beside sess_<id>), marks the session file dirty (the
//     owner-execute bit, which session files never carry otherwise),
//     pwrites the payload at offset 0, ftruncates to its length (never to
//     0 first, so the file is never empty midway) and clears the mark.
//     Clearing the mark is the commit point; the recovery file is removed
//     after it. A write that fails before the commit point restores the
//     old content from memory; whoever locks a dirty session next (a
//     process killed mid-write, or a restore that failed too) restores it
//     from the recovery file if that is complete and meant for this inode.
//     A clean session costs readers no extra system call.
//
// A failed recovery-file write (a full disk) removes the partial file, so
// it does not keep the space it got. Restoring needs no new disk space on
// a file system that overwrites in place (ext4, XFS, tmpfs), except after
// a shrinking write; a restore that still fails leaves the mark and the
// recovery file for the next access, which reports an error until it can
// restore, and never serves the torn file. PHP does not know recovery
// files: a PHP process locking a session right after a Go writer died
// mid-write may see the torn file.

// dirtyBit marks a session file whose write may be unfinished.
const dirtyBit = 0o100

// undoTrailer follows the old content in a recovery file: inode, mtime
// (unix ns), content length, flags, CRC-32C of everything before it,
// magic.
const (
	undoTrailerLen = 8 + 8 + 8 + 4 + 4 + 4
	undoMagic      = "SKu1"
	undoBlank      = 1 // flag: the old file held no record (see blank)
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// prior is a session file's state before a write: what a failed write
// restores.
type prior struct {
	data  []byte
	mtime time.Time
	blank bool // created but never written: no record (see blank)
}

// read returns the live record in the locked file described by fi.
func (h *handle) read(fi os.FileInfo, now time.Time) ([]byte, bool, error) {
	fi, err := h.clean(fi)
	if err != nil {
		return nil, false, err
	}
	if !h.s.holdsRecord(fi, now) {
		return nil, false, nil
	}
	data, err := h.readAll(fi)
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// readAll returns the whole content of the file described by fi.
func (h *handle) readAll(fi os.FileInfo) ([]byte, error) {
	if fi.Size() == 0 {
		return nil, nil
	}
	data := make([]byte, fi.Size())
	n, err := h.f.ReadAt(data, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fsErr("read", err)
	}
	return data[:n], nil
}

// clean returns fi, or, when fi shows the dirty mark, restores the old
// record from the recovery file first and returns the new stat. A handle
// normally never sees the mark (open restores before returning), except
// when a restore of its own failed.
func (h *handle) clean(fi os.FileInfo) (os.FileInfo, error) {
	if fi.Mode()&dirtyBit == 0 {
		return fi, nil
	}
	if !h.writable {
		return nil, errors.New("filestore: session file has an unfinished write")
	}
	if err := h.recoverUndo(); err != nil {
		return nil, err
	}
	return h.fi, nil
}

// write replaces the locked file's content with data and its mtime with
// the encoding of expiry. fi is the file's stat if the caller has a fresh
// one, nil to stat again. It returns errUnlinked when the file was
// destroyed while locked. Any other error means the old content and mtime
// are still (or, if the restore failed too, will be, at the next access)
// what they were.
func (h *handle) write(data []byte, expiry time.Time, fi os.FileInfo) error {
	if fi == nil {
		var err error
		if fi, err = h.s.check(h.f); err != nil {
			return err
		}
	}
	ino, nlink, _ := fileInfo(fi)
	if nlink == 0 {
		return errUnlinked
	}
	fi, err := h.clean(fi)
	if err != nil {
		return err
	}
	old, err := h.readAll(fi)
	if err != nil {
		return err
	}
	p := prior{data: old, mtime: fi.ModTime(), blank: blank(fi)}
	mtime := h.s.mtimeFor(expiry)
	if len(data) >= len(old) && len(data) <= h.s.pageSize {
		if err := h.apply(data, int64(len(old)), mtime); err != nil {
			if rerr := h.restore(p); rerr != nil {
				return errors.Join(err, fmt.Errorf("filestore: restoring the old record failed too: %w", rerr))
			}
			return err
		}
		return nil
	}

	if err := h.writeUndo(p, ino); err != nil {
		return err
	}
	perm := fi.Mode().Perm() &^ dirtyBit
	if err := h.f.Chmod(perm | dirtyBit); err != nil {
		h.removeUndo()
		return fsErr("mark dirty", err)
	}
	if h.s.sync {
		// The mark must be on disk before the first byte is overwritten.
		if err := h.f.Sync(); err != nil {
			return h.rollback(fsErr("sync", err), p, perm)
		}
	}
	if err := h.apply(data, int64(len(old)), mtime); err != nil {
		return h.rollback(err, p, perm)
	}
	if err := h.f.Chmod(perm); err != nil {
		return h.rollback(fsErr("clear dirty mark", err), p, perm)
	}
	if h.s.sync {
		if err := h.f.Sync(); err != nil {
			// The mark may come back after a power loss, which restores
			// the old record: only the old one is certain.
			return h.rollback(fsErr("sync", err), p, perm)
		}
	}
	// Committed. A recovery file beside a clean session file is never
	// used, and GC removes it if this removal fails.
	h.removeUndo()
	return nil
}

// rollback undoes a write that failed with cause after marking the file
// dirty: it puts p back and settles the file, or, if that fails, leaves
// the mark and the recovery file for the next access to restore from. The
// mark is set again first: a failed sync after the commit point has
// cleared it.
func (h *handle) rollback(cause error, p prior, perm os.FileMode) error {
	merr := h.f.Chmod(perm | dirtyBit)
	if err := h.restore(p); err != nil {
		if merr != nil {
			return errors.Join(cause, fmt.Errorf("filestore: the old record could not be restored: %w", errors.Join(err, fsErr("mark dirty", merr))))
		}
		return errors.Join(cause, fmt.Errorf("filestore: the next access restores the old record: %w", err))
	}
	if err := h.settle(perm, p.blank); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// settle clears the dirty mark of a restored file and removes the recovery
// file. The chmod changes the file's ctime, so a file restored to "never
// written" is blanked again after it.
func (h *handle) settle(perm os.FileMode, wasBlank bool) error {
	if err := h.f.Chmod(perm); err != nil {
		return fsErr("clear dirty mark", err)
	}
	if wasBlank {
		if err := h.reblank(); err != nil {
			return err
		}
	}
	h.removeUndo()
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

// restore puts the content and mtime of p back.
func (h *handle) restore(p prior) error {
	if _, err := h.f.WriteAt(p.data, 0); err != nil {
		return fsErr("restore", err)
	}
	if err := h.f.Truncate(int64(len(p.data))); err != nil {
		return fsErr("restore", err)
	}
	if p.blank {
		if err := h.reblank(); err != nil {
			return err
		}
	} else if err := setMtime(h.f, p.mtime); err != nil {
		return fsErr("restore mtime", err)
	}
	if h.s.sync {
		if err := h.f.Sync(); err != nil {
			return fsErr("sync", err)
		}
	}
	return nil
}

// reblank makes an empty file look never written again (see blank):
// changing its size sets mtime and ctime to one and the same instant, on
// every system (ftruncate to the same size may leave them alone). Growing
// to one byte makes a hole and needs no disk space.
func (h *handle) reblank() error {
	if err := h.f.Truncate(1); err != nil {
		return fsErr("restore", err)
	}
	if err := h.f.Truncate(0); err != nil {
		return fsErr("restore", err)
	}
	return nil
}

// writeUndo saves p and the target inode in the recovery file. A stale
// file of that name is removed first and the new one created exclusively,
// so a planted hard link is never written through. If writing fails (a
// full disk), the partial file is removed so it does not keep the space.
func (h *handle) writeUndo(p prior, ino uint64) error {
	var tr [undoTrailerLen]byte
	binary.LittleEndian.PutUint64(tr[0:], ino)
	binary.LittleEndian.PutUint64(tr[8:], uint64(p.mtime.UnixNano()))
	binary.LittleEndian.PutUint64(tr[16:], uint64(len(p.data)))
	if p.blank {
		binary.LittleEndian.PutUint32(tr[24:], undoBlank)
	}
	crc := crc32.Update(crc32.Checksum(p.data, crcTable), crcTable, tr[:28])
	binary.LittleEndian.PutUint32(tr[28:], crc)
	copy(tr[32:], undoMagic)

	// Two writers hold the session's flock at once only on two inodes: one
	// of them was destroyed and re-created meanwhile, and its writer's
	// recovery file is moot. Such a writer may create the name between our
	// remove and create: remove it again, a bounded number of times.
	var f *os.File
	for attempt := 0; ; attempt++ {
		if err := os.Remove(h.n.undo); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fsErr("remove stale recovery file", err)
		}
		var err error
		f, err = os.OpenFile(h.n.undo, os.O_WRONLY|os.O_CREATE|os.O_EXCL|openFlags, h.s.mode)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || attempt == 3 {
			return fsErr("create recovery file", err)
		}
	}
	// One write system call: they cost more than the copy.
	buf := make([]byte, 0, len(p.data)+len(tr))
	_, err := f.Write(append(append(buf, p.data...), tr[:]...))
	if err == nil && h.s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		h.removeUndo()
		return fsErr("write recovery file", err)
	}
	return nil
}

// removeUndo removes the recovery file. Failing is harmless: a recovery
// file is only read while the session file is marked dirty, and GC
// removes the ones no write needs.
func (h *handle) removeUndo() {
	_ = os.Remove(h.n.undo)
}

// recoverUndo finishes the write a dead (or failed) writer left: it
// restores the old record from the recovery file if that is complete and
// meant for the locked inode, then clears the dirty mark and removes the
// recovery file. Without a usable recovery file (lost in a power failure
// without Options.Sync, or removed by hand) the content stays as it is
// and only the mark is cleared. The caller holds the exclusive lock on a
// writable descriptor of a dirty session file.
func (h *handle) recoverUndo() error {
	p, ino, ok, err := h.loadUndo()
	if err != nil {
		return err
	}
	cur, err := h.f.Stat()
	if err != nil {
		return fsErr("stat", err)
	}
	curIno, _, _ := fileInfo(cur)
	ok = ok && curIno == ino
	if ok {
		if err := h.restore(p); err != nil {
			return err
		}
	}
	if err := h.settle(cur.Mode().Perm()&^dirtyBit, ok && p.blank); err != nil {
		return err
	}
	fi, err := h.s.check(h.f)
	if err != nil {
		return err
	}
	h.fi = fi
	return nil
}

// loadUndo reads and verifies the recovery file. ok is false when it is
// absent, torn or not a regular file of ours with one link.
func (h *handle) loadUndo() (p prior, ino uint64, ok bool, err error) {
	f, err := os.OpenFile(h.n.undo, os.O_RDONLY|openFlags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return prior{}, 0, false, nil
		}
		return prior{}, 0, false, fsErr("open recovery file", err)
	}
	defer f.Close()
	fi, err := h.s.check(f)
	if err != nil || fi.Size() < undoTrailerLen {
		return prior{}, 0, false, nil
	}
	buf := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return prior{}, 0, false, nil
	}
	body, tr := buf[:len(buf)-undoTrailerLen], buf[len(buf)-undoTrailerLen:]
	if !bytes.Equal(tr[32:], []byte(undoMagic)) ||
		binary.LittleEndian.Uint64(tr[16:]) != uint64(len(body)) ||
		crc32.Update(crc32.Checksum(body, crcTable), crcTable, tr[:28]) != binary.LittleEndian.Uint32(tr[28:]) {
		return prior{}, 0, false, nil
	}
	p = prior{
		data:  body,
		mtime: time.Unix(0, int64(binary.LittleEndian.Uint64(tr[8:]))),
		blank: binary.LittleEndian.Uint32(tr[24:])&undoBlank != 0,
	}
	return p, binary.LittleEndian.Uint64(tr[0:]), true, nil
}
