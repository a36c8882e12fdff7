package redisstore

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// node is a redis-server (or sentinel) process of the test's own, for the
// tests that kill, stall and restart servers: a Sentinel setup and a small
// Cluster, so the shared servers are left alone. It runs in the
// foreground, a child of the test, and is killed when the test ends.
type node struct {
	bin, dir string
	port     int
	// args come after the port: config directives as --name value.
	args []string
	// conf, if set, is written to dir/node.conf before each start and
	// given as the config file (a sentinel rewrites its file).
	conf   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// newNode returns a node with a port and a directory of its own, not yet
// started; it is killed when t ends.
func newNode(t testing.TB, args ...string) *node {
	t.Helper()
	n := &node{bin: storetest.RequireEnv(t, envBin), dir: t.TempDir(), port: freePort(t), args: args}
	t.Cleanup(func() { n.kill(t) })
	return n
}

func (n *node) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }

// start runs the node (again, on the same port and directory) and waits
// until it answers PING, up to ten seconds.
func (n *node) start(t testing.TB) {
	t.Helper()
	if err := n.startErr(); err != nil {
		t.Fatal(err)
	}
}

// startErr is start for a goroutine other than the test's: it returns
// the error instead of ending the test.
func (n *node) startErr() error {
	var argv []string
	if n.conf != "" {
		path := filepath.Join(n.dir, "node.conf")
		if err := os.WriteFile(path, []byte(n.conf), 0o600); err != nil {
			return err
		}
		argv = append(argv, path)
	}
	argv = append(argv, "--bind", "127.0.0.1", "--port", strconv.Itoa(n.port), "--dir", n.dir,
		"--protected-mode", "no", "--save", "", "--logfile", filepath.Join(n.dir, "redis.log"))
	argv = append(argv, n.args...)
	n.cmd = exec.Command(n.bin, argv...)
	if err := n.cmd.Start(); err != nil {
		n.cmd = nil
		return fmt.Errorf("start %s: %w", n.bin, err)
	}
	n.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(n.cmd, n.exited)
	c := redis.NewClient(&redis.Options{Addr: n.addr(), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-n.exited:
			return fmt.Errorf("redis-server on port %d exited at start: %s", n.port, n.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("redis-server on port %d did not answer: %s", n.port, n.logTail())
}

// logTail returns the end of the node's log, for a failure message.
func (n *node) logTail() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "redis.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

// kill kills the node (SIGKILL, a crash) and waits for it to exit.
func (n *node) kill(t testing.TB) {
	t.Helper()
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
	n.cmd = nil
}

// term shuts the node down cleanly (SIGTERM) and waits for it to exit;
// after ten seconds it kills it.
func (n *node) term(t testing.TB) {
	t.Helper()
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("redis-server on port %d ignored SIGTERM for 10 s", n.port)
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
	n.cmd = nil
}

// client returns a plain client of the node, closed with t.
func (n *node) client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: n.addr(), DialTimeout: 500 * time.Millisecond, ReadTimeout: 2 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor calls cond every 50 ms until it returns nil, and fails t with
// its last error if that takes longer than limit.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, still not %s: %v", limit, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// infoField returns field from INFO section of c ("" if absent).
func infoField(ctx context.Context, c *redis.Client, section, field string) (string, error) {
	info, err := c.Info(ctx, section).Result()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no %s in INFO %s", field, section)
}

// noLeaks checks, when t ends, that the goroutines running then are those
// that ran when noLeaks was called: the test's clients, servers and the
// store's background settling have all ended. go-redis' pool keeps
// redialling a dead server from a goroutine that notices a closed pool
// only after a one-second pause, so this waits up to five seconds.
func noLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := goleak.Find(before)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines left behind: %v", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
