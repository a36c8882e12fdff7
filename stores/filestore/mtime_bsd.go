//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package filestore

import (
	"os"
	"syscall"
	"time"
)

// setMtime sets f's access and modification times to t (to the
// microsecond) through the open descriptor, so a symlink swapped in after
// the open cannot redirect it.
func setMtime(f *os.File, t time.Time) error {
	tv := syscall.NsecToTimeval(t.UnixNano())
	var err error
	if ctlErr := rawFD(f, func(fd int) { err = syscall.Futimes(fd, []syscall.Timeval{tv, tv}) }); ctlErr != nil {
		return ctlErr
	}
	return err
}
