//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package filestore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/filestore"
)

// The tests in this file re-run the test binary as a helper process
// (TestHelperProcess, selected by the FILESTORE_HELPER variable) to have a
// second process: one to kill in the middle of writes, one to hold a
// session's flock the way PHP does.

const helperEnv = "FILESTORE_HELPER"

// crashIDs are the sessions the crash writer cycles through.
var crashIDs = []string{
	"crash0AAAAAAAAAAAAAAAA", "crash1BBBBBBBBBBBBBBBB", "crash2CCCCCCCCCCCCCCCC",
	"crash3DDDDDDDDDDDDDDDD", "crash4EEEEEEEEEEEEEEEE", "crash5FFFFFFFFFFFFFFFF",
	"crash6GGGGGGGGGGGGGGGG", "crash7HHHHHHHHHHHHHHHH",
}

// payloadSizes makes consecutive writes to one session grow and shrink,
// stay within a page and span several: every write strategy is exercised.
var payloadSizes = []int{40, 9000, 100, 5000, 4096, 64, 20000, 3000, 70000, 300, 4095, 17}

// payload is write number seq: a header naming seq and the length, then
// bytes derived from seq. Any mix of two payloads, a prefix of one, or one
// with a stale tail fails checkPayload.
func payload(seq int) []byte {
	n := payloadSizes[seq%len(payloadSizes)]
	b := make([]byte, n)
	h := fmt.Sprintf("%08d:%06d:", seq, n)
	copy(b, h)
	for i := len(h); i < n; i++ {
		b[i] = byte(seq*131 + i*7 + i>>8)
	}
	return b
}

// checkPayload reports whether b is exactly one complete payload.
func checkPayload(b []byte) (seq int, ok bool) {
	if len(b) < 16 || b[8] != ':' || b[15] != ':' {
		return 0, false
	}
	seq, err1 := strconv.Atoi(string(b[:8]))
	n, err2 := strconv.Atoi(string(b[9:15]))
	if err1 != nil || err2 != nil || n != len(b) {
		return 0, false
	}
	return seq, bytes.Equal(b, payload(seq))
}

// TestHelperProcess is not a test: it is the body of the helper processes
// the other tests start. Run directly, it does nothing.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	err := helperMain(mode, os.Getenv("FILESTORE_DIR"), os.Getenv("FILESTORE_ARG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func helperMain(mode, dir, arg string) error {
	switch mode {
	case "writer":
		// 1000 writes from seq arg on, alternating plain writes and
		// writes through the lock; progress every 50.
		start, err := strconv.Atoi(arg)
		if err != nil {
			return err
		}
		s, err := filestore.New(dir, filestore.Options{})
		if err != nil {
			return err
		}
		ctx := context.Background()
		expiry := time.Now().Add(time.Hour)
		for i := 0; i < 1000; i++ {
			seq := start + i
			id := crashIDs[seq%len(crashIDs)]
			if seq%2 == 0 {
				err = s.Write(ctx, id, payload(seq), expiry)
			} else {
				var l core.Lock
				if l, err = s.Lock(ctx, id); err == nil {
					err = l.(core.LockedWriter).Write(ctx, payload(seq), expiry)
					l.Unlock(ctx)
				}
			}
			if err != nil {
				return err
			}
			if i%50 == 49 {
				fmt.Println(i + 1)
			}
		}
		return nil
	case "flock":
		// Hold an exclusive flock on a file as PHP's files handler does,
		// until stdin closes.
		f, err := os.OpenFile(arg, os.O_RDWR|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			return err
		}
		fmt.Println("locked")
		_, err = io.Copy(io.Discard, os.Stdin)
		return err
	case "php":
		// PHP's files handler for one request: open the session file
		// with O_CREAT (creating it for an ID it never saw), flock it,
		// and once stdin closes write FILESTORE_DATA the way PHP does
		// (ftruncate to 0, pwrite) and close.
		f, err := os.OpenFile(arg, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			return err
		}
		fmt.Println("locked")
		if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
			return err
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		_, err = f.WriteAt([]byte(os.Getenv("FILESTORE_DATA")), 0)
		return err
	case "index":
		// Bind indexSessions sessions named arg+n to indexUser, deleting
		// every fourth session file behind the index as PHP's GC does and
		// collecting every 25 sessions, so that key creation, adds and
		// pruning race with the other processes on the directory.
		s, err := filestore.New(dir, filestore.Options{})
		if err != nil {
			return err
		}
		return bindIndexed(context.Background(), s, dir, arg)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// The sessions each process of TestUserIndexAcrossProcesses binds.
const (
	indexUser     = "user@example.org"
	indexSessions = 200
)

// indexedID is session n of the process with prefix.
func indexedID(prefix string, n int) string { return fmt.Sprintf("%s%016d", prefix, n) }

// bindIndexed writes and binds the sessions of prefix (see the "index"
// helper mode).
func bindIndexed(ctx context.Context, s *filestore.Store, dir, prefix string) error {
	expiry := time.Now().Add(time.Hour)
	for n := 0; n < indexSessions; n++ {
		id := indexedID(prefix, n)
		if err := s.Write(ctx, id, []byte(id), expiry); err != nil {
			return err
		}
		if err := s.AddUserSession(ctx, indexUser, id, expiry); err != nil {
			return err
		}
		if n%4 == 3 {
			if err := os.Remove(filepath.Join(dir, "sess_"+id)); err != nil {
				return err
			}
		}
		if n%25 == 24 {
			if _, err := s.GC(ctx, time.Now()); err != nil {
				return err
			}
		}
	}
	return nil
}

// helper starts the test binary as a helper process in mode.
func helper(t *testing.T, mode, dir, arg string) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "FILESTORE_DIR="+dir, "FILESTORE_ARG="+arg)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewReader(stdout), stdin
}

// TestCrashDuringWrites kills a writing process with SIGKILL in the middle
// of 1000 writes, ten times over one directory, and checks after each kill
// that every session reads as one complete payload (the next access
// restores the old record of a write cut short from its recovery file)
// and that no torn or dirty file remains on disk.
func TestCrashDuringWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	const rounds = 10
	var tornBefore, undoLeft, notFound int
	for round := 0; round < rounds; round++ {
		cmd, out, _ := helper(t, "writer", dir, strconv.Itoa(round*1000))
		// Kill after a random number of progress reports (50 writes each),
		// while the writer goes on writing.
		target := 1 + rng.Intn(19)
		for i := 0; i < target; i++ {
			if _, err := out.ReadString('\n'); err != nil {
				t.Fatalf("round %d: writer: %v", round, err)
			}
		}
		time.Sleep(time.Duration(rng.Intn(2000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		werr := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Logf("round %d: writer ended with %v before the kill", round, werr)
		}

		for _, id := range crashIDs {
			if _, err := os.Lstat(filepath.Join(dir, ".r_"+id)); err == nil {
				undoLeft++
			}
			raw, err := os.ReadFile(filepath.Join(dir, "sess_"+id))
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if _, ok := checkPayload(raw); !ok {
				tornBefore++
			}
			data, found, err := s.Read(ctx, id)
			if err != nil {
				t.Fatalf("round %d: Read after the kill: %v", round, err)
			}
			if found {
				if _, ok := checkPayload(data); !ok {
					t.Fatalf("round %d: Read returned a torn record of %d bytes", round, len(data))
				}
			} else {
				// A kill between the data write and the mtime update
				// of a one-page write leaves the file's mtime at the
				// time of writing: a complete, expired record.
				notFound++
			}
			raw, err = os.ReadFile(filepath.Join(dir, "sess_"+id))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := checkPayload(raw); !ok {
				t.Fatalf("round %d: a torn session file of %d bytes remains after recovery", round, len(raw))
			}
			if fi, err := os.Stat(filepath.Join(dir, "sess_"+id)); err != nil || fi.Mode()&0o100 != 0 {
				t.Fatalf("round %d: the session file is still marked dirty after recovery (%v)", round, err)
			}
		}
	}

	// A recovery file the kill left next to a clean session file (written
	// but not yet used, or no longer needed but not yet removed) is
	// garbage: GC removes it once it is old enough, and no session suffers.
	old := time.Now().Add(-time.Hour)
	for _, id := range crashIDs {
		os.Chtimes(filepath.Join(dir, ".r_"+id), old, old)
	}
	if n, err := s.GC(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("GC = %d, %v; want 0 sessions removed", n, err)
	}
	for _, id := range crashIDs {
		if _, err := os.Lstat(filepath.Join(dir, ".r_"+id)); err == nil {
			t.Fatal("GC left an old recovery file next to a clean session file")
		}
		data, found, err := s.Read(ctx, id)
		if _, ok := checkPayload(data); err != nil || (found && !ok) {
			t.Fatalf("Read after GC: %v, found=%v, complete=%v", err, found, ok)
		}
	}
	t.Logf("%d rounds: %d files torn on disk at the kill, %d recovery files left by it, %d complete but expired records",
		rounds, tornBefore, undoLeft, notFound)
	if tornBefore > undoLeft {
		t.Fatalf("%d torn files but only %d recovery files", tornBefore, undoLeft)
	}
}

// TestGCSkipsSessionLockedByAnotherProcess has a second process hold an
// expired session's flock, as a PHP request does: GC in this process must
// leave it alone, and remove it once the other process let go.
func TestGCSkipsSessionLockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	locked, free := "LockedByOtherProcess", "ExpiredAndFree000000"
	past := time.Now().Add(-time.Hour)
	for _, id := range []string{locked, free} {
		if err := s.Write(ctx, id, []byte("expired"), past); err != nil {
			t.Fatal(err)
		}
	}
	cmd, out, stdin := helper(t, "flock", dir, filepath.Join(dir, "sess_"+locked))
	if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper: %q, %v", line, err)
	}

	n, err := s.GC(ctx, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("GC with one expired session locked elsewhere = %d, %v; want 1", n, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sess_"+locked)); err != nil {
		t.Fatalf("GC removed a session another process holds locked: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sess_"+free)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("GC left an expired, unlocked session: %v", err)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.GC(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("GC after the other process unlocked = %d, %v; want 1", n, err)
	}
}

// TestLockWaitsForOtherProcess: a session flocked by another process (a PHP
// request) makes Lock wait until ctx ends, and succeed once it is free.
func TestLockWaitsForOtherProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "HeldByPHPRequest0000"
	if err := s.Write(ctx, id, []byte("php"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cmd, out, stdin := helper(t, "flock", dir, filepath.Join(dir, "sess_"+id))
	if _, err := out.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = s.Lock(tctx, id)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a session flocked elsewhere: %v, want context.DeadlineExceeded", err)
	}
	tctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
	_, _, err = s.Read(tctx, id)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read of a session flocked elsewhere: %v, want context.DeadlineExceeded", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLockFileYieldsToPHP: Go locks an ID no session file exists for (so
// it holds a lock file), then PHP opens the same ID, creating the session
// file and flocking it, as PHP does for any ID outside strict mode. Go's
// read through its lock waits for PHP's flock, reads what PHP wrote, and
// Go's write then lands on top of it: neither loses an update.
func TestLockFileYieldsToPHP(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir, filestore.Options{MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "OpenedByGoThenByPHP000"
	l, err := s.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(ctx)
	if _, err := os.Lstat(filepath.Join(dir, "sess_"+id)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Lock created the session file: %v", err)
	}
	t.Setenv("FILESTORE_DATA", "n|i:1;")
	cmd, out, stdin := helper(t, "php", dir, filepath.Join(dir, "sess_"+id))
	if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	lr, lw := l.(core.LockedReader), l.(core.LockedWriter)
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, _, err = lr.Read(tctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockedReader.Read while PHP holds the new session file: %v, want context.DeadlineExceeded", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	data, found, err := lr.Read(ctx)
	if err != nil || !found || string(data) != "n|i:1;" {
		t.Fatalf("LockedReader.Read after PHP's request = %q, %v, %v; want PHP's record", data, found, err)
	}
	if err := lw.Write(ctx, []byte("n|i:2;"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "sess_"+id)); err != nil || string(raw) != "n|i:2;" {
		t.Fatalf("session file = %q, %v", raw, err)
	}
	if got := listFiles(t, dir); strings.Join(got, " ") != "sess_"+id {
		t.Fatalf("files = %v, want only the session file", got)
	}
}
