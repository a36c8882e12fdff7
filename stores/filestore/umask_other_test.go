//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package filestore_test

import "os"

// umask is 0 where the store is not supported.
func umask() os.FileMode { return 0 }
