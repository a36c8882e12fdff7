//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package filestore

import (
	"errors"
	"os"
	"time"
)

// supported reports whether this platform has flock(2); New refuses to
// build a store where it is false.
const supported = false

const openFlags = 0

const (
	lockShared    = 1
	lockExclusive = 2
)

var errUnsupported = errors.New("filestore: flock(2) is not available on this platform")

func tryLock(*os.File, int) (bool, error)        { return false, errUnsupported }
func unlock(*os.File) error                      { return errUnsupported }
func setMtime(*os.File, time.Time) error         { return errUnsupported }
func fileInfo(os.FileInfo) (uint64, uint64, int) { return 0, 1, -1 }

func changeTime(os.FileInfo) (time.Time, bool) { return time.Time{}, false }
