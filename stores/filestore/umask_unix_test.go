//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package filestore_test

import (
	"os"
	"syscall"
)

// umask returns the process umask (setting it back at once).
func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}
