//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/phpcodec"
	"github.com/sessionkit/sessionkit/stores/filestore"
)

// The tests in this file run the real PHP CLI (php-cli, 8.2 in CI) on the
// directory a Store opened with filestore.PHP uses.

// gcMaxLifetime is PHP's default session.gc_maxlifetime, used on both sides.
const gcMaxLifetime = 1440 * time.Second

// phpBinary returns the path of php. Without it the test cannot run:
// outside CI it skips loudly, in CI (CI set) it fails.
func phpBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("php")
	if err == nil {
		return path
	}
	msg := "php (php-cli) is not on PATH, so the PHP interop tests cannot run (scripts/services.sh installs it)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING: " + msg)
	return ""
}

// phpCommand is one request of a PHP application whose files handler has
// session.save_path = savePath and gc_maxlifetime 1440 s, with strict mode
// on, PHP's GC off and no cookies (the code passes IDs to session_id()):
// php -r code, with args as $argv[1:].
func phpCommand(ctx context.Context, php, savePath, code string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, php, "-n",
		"-d", "session.save_handler=files",
		"-d", `session.save_path="`+savePath+`"`, // unquoted, ";" would start a comment
		"-d", "session.gc_maxlifetime=1440",
		"-d", "session.gc_probability=0",
		"-d", "session.use_strict_mode=1",
		"-d", "session.use_cookies=0",
		"-d", "session.cache_limiter=",
		"-d", "display_errors=stderr",
		"-d", "error_reporting=-1",
		"-r", code, "--")
	cmd.Args = append(cmd.Args, args...)
	return cmd
}

// runPHP runs phpCommand and returns what PHP printed; an error, warning
// or notice fails the test.
func runPHP(t *testing.T, savePath, code string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := runPHPQuietly(phpCommand(ctx, phpBinary(t), savePath, code, args...))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runPHPQuietly runs cmd and returns its output, or an error when it
// fails or writes to stderr; goroutines other than the test's call it.
func runPHPQuietly(cmd *exec.Cmd) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		return "", fmt.Errorf("%s: %v\nstderr: %s\nstdout: %s", cmd.Args[len(cmd.Args)-2:], err, stderr.Bytes(), stdout.Bytes())
	}
	return stdout.String(), nil
}

// hexDirs creates the subdirectories of depth 1 for 32-hex IDs, as PHP's
// mod_files.sh does: PHP does not create them.
func hexDirs(t *testing.T, dir string) {
	t.Helper()
	for _, c := range "0123456789abcdef" {
		if err := os.Mkdir(filepath.Join(dir, string(c)), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPHPOptions: PHP reads the save_path syntax and gc_maxlifetime.
func TestPHPOptions(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.PHP("1;0640;"+dir, gcMaxLifetime)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dir() != dir {
		t.Errorf("Dir = %q, want %q", s.Dir(), dir)
	}
	ctx := context.Background()
	id := "0123456789abcdef0123456789abcdef"
	expiry := time.Now().Add(gcMaxLifetime).Truncate(time.Second)
	if err := s.Write(ctx, id, []byte(`n|i:1;`), expiry); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "0", "sess_"+id))
	if err != nil {
		t.Fatalf("not at PHP's path for depth 1: %v", err)
	}
	if fi.Mode().Perm() != 0o640&^umask() || !fi.ModTime().Equal(expiry.Add(-gcMaxLifetime)) {
		t.Errorf("mode %o, mtime %v; want %o and expiry - gc_maxlifetime", fi.Mode().Perm(), fi.ModTime(), 0o640&^umask())
	}
	for _, tt := range []struct {
		savePath string
		lifetime time.Duration
	}{
		{dir, 0},
		{dir, -time.Second},
		{"x;" + dir, gcMaxLifetime},
		{"1;0999;" + dir, gcMaxLifetime},
		{filepath.Join(dir, "absent"), gcMaxLifetime},
	} {
		if _, err := filestore.PHP(tt.savePath, tt.lifetime); !errors.Is(err, core.ErrConfig) {
			t.Errorf("PHP(%q, %v): err = %v, want core.ErrConfig", tt.savePath, tt.lifetime, err)
		}
	}
}

// TestPHPSharesSessions: a session PHP writes is Go's, one Go writes is
// PHP's (strict mode adopts its ID), and a PHP request on a Go session —
// PHP rewrites or only touches the file, moving its mtime to now — keeps
// it alive for Go for gc_maxlifetime, as PHP counts.
func TestPHPSharesSessions(t *testing.T) {
	dir := t.TempDir()
	hexDirs(t, dir)
	savePath := "1;0600;" + dir
	s, err := filestore.PHP(savePath, gcMaxLifetime)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	id := runPHP(t, savePath, `session_start(); $_SESSION["user"] = "alice"; echo session_id();`)
	data, found, err := s.Read(ctx, id)
	if err != nil || !found || string(data) != `user|s:5:"alice";` {
		t.Fatalf("Go reads PHP's new session as %q, %v, %v", data, found, err)
	}
	if ok, err := s.Exists(ctx, id); !ok || err != nil {
		t.Fatalf("Exists(PHP's session) = %v, %v", ok, err)
	}

	// Go writes the session as core does for a Go request: expiry = now +
	// IdleTimeout (= gc_maxlifetime), so mtime = now.
	if err := s.Write(ctx, id, []byte(`n|i:1;user|s:5:"alice";`), time.Now().Add(gcMaxLifetime)); err != nil {
		t.Fatal(err)
	}
	const show = `session_id($argv[1]); session_start();
		echo session_id() === $argv[1] ? "kept" : "replaced", " ", $_SESSION["user"] ?? "-", " ", $_SESSION["n"] ?? "-";`
	if got := runPHP(t, savePath, show, id); got != "kept alice 1" {
		t.Fatalf("PHP on Go's write: %q, want %q", got, "kept alice 1")
	}

	// A session Go wrote that has 60 s left (mtime = now - 1380 s) ...
	path := filepath.Join(dir, id[:1], "sess_"+id)
	if err := s.Write(ctx, id, []byte(`n|i:2;`), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// ... gets a PHP request that changes nothing: PHP's lazy write only
	// utime()s the file.
	if got := runPHP(t, savePath, show, id); got != "kept - 2" {
		t.Fatalf("PHP on Go's session: %q", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(fi.ModTime()); age < -time.Second || age > 10*time.Second {
		t.Fatalf("after PHP's request the mtime is %v old, want about now", age)
	}
	if data, found, err := s.Read(ctx, id); err != nil || !found || string(data) != `n|i:2;` {
		t.Fatalf("Go after PHP touched its session: %q, %v, %v", data, found, err)
	}
	// The default layout (mtime = expiry) cannot share the directory: it
	// reads the file PHP just touched as expired.
	plain, err := filestore.New(dir, filestore.Options{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := plain.Exists(ctx, id); ok {
		t.Fatal("a store with default Options sees PHP's session: the test no longer shows why PHP() exists")
	}

	// Go's logout is PHP's: strict mode gives PHP a new, empty session.
	if err := s.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got := runPHP(t, savePath, show, id); got != "replaced - -" {
		t.Fatalf("PHP after Go destroyed the session: %q", got)
	}
}

// TestPHPAgreesOnExpiry: what Go counts as expired is what PHP's GC
// removes (mtime older than gc_maxlifetime), for files either side wrote.
func TestPHPAgreesOnExpiry(t *testing.T) {
	dir := t.TempDir() // depth 0: PHP's GC collects no other
	s, err := filestore.PHP(dir, gcMaxLifetime)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	const margin = 3 * time.Second // PHP compares whole seconds
	goIDs := map[string]time.Time{"goExpired000000000000000": now.Add(-margin), "goLive00000000000000000": now.Add(margin)}
	for id, expiry := range goIDs {
		if err := s.Write(ctx, id, []byte(`n|i:1;`), expiry); err != nil {
			t.Fatal(err)
		}
	}
	phpIDs := map[string]time.Time{"phpExpired00000000000000": now.Add(-gcMaxLifetime - margin), "phpLive000000000000000000": now.Add(-gcMaxLifetime + margin)}
	for id, mtime := range phpIDs {
		runPHP(t, dir, `session_id($argv[1]); ini_set("session.use_strict_mode", 0); session_start(); $_SESSION["n"] = 1;`, id)
		if err := os.Chtimes(filepath.Join(dir, "sess_"+id), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	live := map[string]bool{}
	for _, id := range []string{"goExpired000000000000000", "goLive00000000000000000", "phpExpired00000000000000", "phpLive000000000000000000"} {
		ok, err := s.Exists(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		live[id] = ok
	}
	if !live["goLive00000000000000000"] || !live["phpLive000000000000000000"] || live["goExpired000000000000000"] || live["phpExpired00000000000000"] {
		t.Fatalf("Go's view: %v", live)
	}
	// PHP's GC, run by a request of a fresh session (whose file is new).
	if got := runPHP(t, dir, `session_start(); echo session_gc();`); got != "2" {
		t.Fatalf("PHP's GC removed %s files, want the 2 Go counts as expired", got)
	}
	for id, ok := range live {
		if _, err := os.Stat(filepath.Join(dir, "sess_"+id)); (err == nil) != ok {
			t.Errorf("%s: live for Go = %v, but after PHP's GC: %v", id, ok, err)
		}
	}
}

// TestPHPAndGoShareTheLock: PHP requests and Go lock holders increment one
// session's counter at the same time, 25 each, a few at a time; the flock
// on the session file serialises them, so none is lost.
func TestPHPAndGoShareTheLock(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.PHP(dir, gcMaxLifetime)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := "0123456789abcdef0123456789abcdef"
	if err := s.Write(ctx, id, []byte(`n|i:0;`), time.Now().Add(gcMaxLifetime)); err != nil {
		t.Fatal(err)
	}
	const each, workers = 25, 3
	php := phpBinary(t)
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	work := func(n int, inc func() error) {
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < n; i += workers {
					if err := inc(); err != nil {
						errs <- err
						return
					}
				}
			}(w)
		}
	}
	work(each, func() error {
		_, err := runPHPQuietly(phpCommand(ctx, php, dir, `session_id($argv[1]); session_start(); $_SESSION["n"]++; usleep(1000);`, id))
		return err
	})
	work(each, func() error { return goIncrement(ctx, s, id) })
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	data, _, err := s.Read(ctx, id)
	if err != nil || string(data) != `n|i:50;` {
		t.Fatalf("after 25 PHP and 25 Go increments: %q, %v; want n|i:50;", data, err)
	}
}

// goIncrement is a Go request on the session with locking: lock, read,
// n+1, write through the lock, unlock.
func goIncrement(ctx context.Context, s *filestore.Store, id string) error {
	l, err := s.Lock(ctx, id)
	if err != nil {
		return err
	}
	defer l.Unlock(ctx)
	data, _, err := l.(core.LockedReader).Read(ctx)
	if err != nil {
		return err
	}
	values, err := phpcodec.PHP.Decode(data)
	if err != nil {
		return err
	}
	n, _ := values["n"].(int64)
	out, err := phpcodec.PHP.Encode(map[string]any{"n": n + 1})
	if err != nil {
		return err
	}
	time.Sleep(time.Millisecond)
	return l.(core.LockedWriter).Write(ctx, out, time.Now().Add(gcMaxLifetime))
}
