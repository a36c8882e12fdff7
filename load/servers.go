package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is one server (framework and library) and, for a measurement, the
// endpoint the load goes to.
type config struct {
	framework, lib, endpoint string
}

// server is the child process that serves c.
func (c config) server() config { return config{framework: c.framework, lib: c.lib} }

// plan lists one round's measurements in order: per framework bare and
// cookie-only and floor first (on /read: without sessions both endpoints are the same
// handler), then every session library on each endpoint.
func plan(o options) []config {
	var cfgs []config
	for _, f := range o.frameworks {
		for _, stateless := range []string{"bare", "cookie-only", "floor"} {
			if slices.Contains(o.libs, stateless) {
				cfgs = append(cfgs, config{f, stateless, "read"})
			}
		}
		for _, e := range o.endpoints {
			for _, l := range o.libs {
				if !sessionless(l) {
					cfgs = append(cfgs, config{f, l, e})
				}
			}
		}
	}
	return cfgs
}

// sessionless reports whether lib keeps no session: its counter is always
// 0 (/read) or 1 (/write).
func sessionless(lib string) bool { return lib == "bare" || lib == "cookie-only" || lib == "floor" }

// buildServer builds ./server into dir, once per run.
func buildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/sessionkit/sessionkit/load/server")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./server (run from the load module): %w", err)
	}
	return bin, nil
}

// child is a running server. It exits when its stdin closes, so it dies
// with this process even when this process is killed outright.
type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
	done  chan struct{}
	addr  string
}

// startServer starts bin for c, under taskset -c cpus when cpus is set,
// profiling into the directory profile when it is set, and waits (at most
// 10 s) for the address it listens on.
func startServer(ctx context.Context, bin, cpus, profile string, c config) (*child, error) {
	argv := []string{bin, "-framework", c.framework, "-lib", c.lib}
	if profile != "" {
		base := filepath.Join(profile, c.framework+"-"+c.lib)
		argv = append(argv, "-cpuprofile", base+".cpu", "-memprofile", base+".allocs")
	}
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(argv, " "), err)
	}
	ch := &child{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(ch.done)
	}()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case ch.addr = <-line:
		if ch.addr == "" {
			ch.stop()
			return nil, fmt.Errorf("%s/%s server exited before listening", c.framework, c.lib)
		}
		return ch, nil
	case <-timer.C:
		err = errors.New("no address within 10 s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	ch.stop()
	return nil, fmt.Errorf("%s/%s server: %w", c.framework, c.lib, err)
}

// stop closes the child's stdin and kills it if it has not exited 2 s
// later.
func (ch *child) stop() {
	_ = ch.stdin.Close()
	select {
	case <-ch.done:
		return
	case <-time.After(2 * time.Second):
	}
	_ = ch.cmd.Process.Kill()
	<-ch.done
}

// cpuTime is the CPU time (user and system) process pid has used so far,
// from /proc; false where there is no /proc.
func cpuTime(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15, in clock ticks of
	// 1/100 s (USER_HZ on every Linux architecture Go runs on).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}
