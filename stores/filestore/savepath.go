package filestore

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sessionkit/sessionkit/core"
)

// ParseSavePath parses PHP's session.save_path syntax for the files
// handler, "[N;[MODE;]]/path", into a directory and the Options it implies:
// N is the directory depth (decimal), MODE the file mode (octal, default
// 0600). Like PHP it splits on the first two semicolons only, so the path
// itself may contain more, and an empty path means the system's temporary
// directory. Options it does not set (MaxLifetime, DirMode, Sync) are zero;
// PHP sets MaxLifetime too. A malformed N or MODE is an error wrapping
// core.ErrConfig.
//
//	dir, opts, err := filestore.ParseSavePath("2;0640;/var/lib/php/sessions")
//	// dir = "/var/lib/php/sessions", opts.Depth = 2, opts.Mode = 0640
func ParseSavePath(savePath string) (dir string, opts Options, err error) {
	parts := strings.SplitN(savePath, ";", 3)
	dir = parts[len(parts)-1]
	if len(parts) > 1 {
		depth, perr := strconv.ParseUint(strings.TrimSpace(parts[0]), 10, 16)
		if perr != nil || depth > maxDepth {
			return "", Options{}, fmt.Errorf("filestore: %w: save path depth %q: want an integer from 0 to %d", core.ErrConfig, parts[0], maxDepth)
		}
		opts.Depth = int(depth)
	}
	if len(parts) > 2 {
		mode, perr := strconv.ParseUint(strings.TrimSpace(parts[1]), 8, 32)
		if perr != nil || mode > 0o777 || mode == 0 {
			return "", Options{}, fmt.Errorf("filestore: %w: save path mode %q: want an octal permission from 1 to 0777", core.ErrConfig, parts[1])
		}
		opts.Mode = os.FileMode(mode)
	}
	if dir == "" {
		dir = os.TempDir()
	}
	return dir, opts, nil
}
