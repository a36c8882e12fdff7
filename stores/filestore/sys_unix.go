//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package filestore

import (
	"errors"
	"os"
	"syscall"
)

// supported reports whether this platform has flock(2). It is true here.
const supported = true

// openFlags are added to every open of a session file: O_NOFOLLOW so a
// planted symlink is never followed, O_NONBLOCK so a planted FIFO cannot
// block the open (it has no effect on regular files).
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// Lock kinds for tryLock.
const (
	lockShared    = syscall.LOCK_SH
	lockExclusive = syscall.LOCK_EX
)

// tryLock takes a flock(2) lock of the given kind on f without blocking.
// It returns false when another open file description holds a conflicting
// lock. flock is the lock PHP's files handler takes, so PHP and Go exclude
// each other on a shared session directory.
func tryLock(f *os.File, how int) (bool, error) {
	var err error
	ctlErr := rawFD(f, func(fd int) {
		for {
			err = syscall.Flock(fd, how|syscall.LOCK_NB)
			if err != syscall.EINTR {
				return
			}
		}
	})
	if ctlErr != nil {
		return false, ctlErr
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// fileInfo extracts the inode, link count and owner from a FileInfo.
func fileInfo(fi os.FileInfo) (ino, nlink uint64, uid int) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 1, -1
	}
	return uint64(st.Ino), uint64(st.Nlink), int(st.Uid)
}

// rawFD runs fn with f's descriptor without switching it to blocking mode
// (which f.Fd would do).
func rawFD(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}
