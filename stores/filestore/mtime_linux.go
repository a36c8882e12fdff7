package filestore

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// setMtime sets f's access and modification times to t through the open
// descriptor (utimensat with a nil path, as glibc's futimens), so a
// symlink swapped in after the open cannot redirect it.
func setMtime(f *os.File, t time.Time) error {
	ts := [2]syscall.Timespec{syscall.NsecToTimespec(t.UnixNano()), syscall.NsecToTimespec(t.UnixNano())}
	var errno syscall.Errno
	err := rawFD(f, func(fd int) {
		_, _, errno = syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
