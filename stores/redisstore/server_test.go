package redisstore

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// redisServer is a redis-server of the test's own, for tests that stop it
// or count its commands, so the shared one is left alone. It keeps its
// data in an append-only file synced on every write, so a restart finds
// the sessions again, as a production Redis with persistence would.
type redisServer struct {
	bin, addr, dir string
	cmd            *exec.Cmd
	exited         chan struct{}
}

// startRedis starts a redis-server on a free port; it stops with t.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin := storetest.RequireEnv(t, envBin)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &redisServer{bin: bin, addr: addr, dir: t.TempDir()}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	return s
}

// start runs the server (again, on the same port and data) and waits until
// it answers.
func (s *redisServer) start(t *testing.T) {
	t.Helper()
	_, port, _ := net.SplitHostPort(s.addr)
	s.cmd = exec.Command(s.bin, "--bind", "127.0.0.1", "--port", port, "--dir", s.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.bin, err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(s.cmd, s.exited)
	c := redis.NewClient(&redis.Options{Addr: s.addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-s.exited:
			t.Fatalf("redis-server on port %s exited at start", port)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("redis-server on port %s did not answer", strconv.Quote(port))
}

// stop kills the server, as a crash would, and waits for it to exit.
func (s *redisServer) stop(t *testing.T) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}
