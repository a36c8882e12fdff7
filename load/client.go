package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// conn is one keep-alive connection with its own session: a minimal
// HTTP/1.1 client that sends one request at a time, keeps the cookies the
// server sets and reads the counter the server answers.
type conn struct {
	c       net.Conn
	r       *bufio.Reader
	host    string
	path    string
	cookies [][2]string // name, value
	req     []byte      // the next request, rebuilt when a cookie changes
	body    []byte
}

func dial(ctx context.Context, addr, path string) (*conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cn := &conn{c: c, r: bufio.NewReaderSize(c, 8192), host: addr, path: path}
	cn.build()
	return cn, nil
}

func (cn *conn) build() {
	b := append(cn.req[:0], "GET "...)
	b = append(b, cn.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, cn.host...)
	if len(cn.cookies) > 0 {
		b = append(b, "\r\nCookie: "...)
		for i, c := range cn.cookies {
			if i > 0 {
				b = append(b, "; "...)
			}
			b = append(b, c[0]...)
			b = append(b, '=')
			b = append(b, c[1]...)
		}
	}
	cn.req = append(b, "\r\n\r\n"...)
}

var (
	errStatus  = errors.New("status not 200")
	errFraming = errors.New("response without Content-Length, or closing the connection")
)

// do sends the request for cn.path and returns the number in the answer.
func (cn *conn) do() (int, error) {
	if _, err := cn.c.Write(cn.req); err != nil {
		return 0, err
	}
	line, err := cn.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return 0, fmt.Errorf("%w: %q", errStatus, bytes.TrimSpace(line))
	}
	length, changed := -1, false
	for {
		line, err = cn.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, errFraming
			}
		case bytes.EqualFold(name, []byte("Set-Cookie")):
			cn.setCookie(value)
			changed = true
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			return 0, errFraming
		}
	}
	if length < 0 {
		return 0, errFraming
	}
	cn.body = slices.Grow(cn.body[:0], length)[:length]
	if _, err := io.ReadFull(cn.r, cn.body); err != nil {
		return 0, err
	}
	if changed {
		cn.build()
	}
	return strconv.Atoi(string(cn.body))
}

// setCookie keeps the name=value of a Set-Cookie header.
func (cn *conn) setCookie(header []byte) {
	pair, _, _ := bytes.Cut(header, []byte(";"))
	name, value, _ := bytes.Cut(pair, []byte("="))
	n, v := string(bytes.TrimSpace(name)), string(bytes.TrimSpace(value))
	for i := range cn.cookies {
		if cn.cookies[i][0] == n {
			cn.cookies[i][1] = v
			return
		}
	}
	cn.cookies = append(cn.cookies, [2]string{n, v})
}

// result is one measurement: one configuration in one round.
type result struct {
	config
	round                int
	requests             int
	rps                  float64
	p50, p99             time.Duration
	serverCPU, clientCPU float64 // share of one CPU; negative when unknown
	errors               int
	firstErr             error
}

// cpuPerRequest is the server's CPU time per request in µs, or 0 when
// unknown.
func (r result) cpuPerRequest() float64 {
	if r.serverCPU <= 0 || r.rps <= 0 {
		return 0
	}
	return r.serverCPU / r.rps * 1e6
}

func (r result) String() string {
	s := fmt.Sprintf("%s %s %s: %.0f req/s, p50 %s, p99 %s, server CPU %s (%s per request), client CPU %s",
		r.framework, r.lib, r.endpoint, r.rps, fmtDuration(r.p50), fmtDuration(r.p99), fmtCPU(r.serverCPU), fmtMicros(r.cpuPerRequest()), fmtCPU(r.clientCPU))
	if r.errors > 0 {
		s += fmt.Sprintf(", %d failed connections (first: %v)", r.errors, r.firstErr)
	}
	return s
}

// measure puts o.conns connections of load on ch's /endpoint: each first
// creates its session (GET /write, which answers 1), then sends requests
// back to back for o.warmup, then for o.duration, which is measured. Every
// answer is checked against the counter the connection's session must hold;
// a connection whose request fails stops and counts as an error.
func measure(ctx context.Context, ch *child, c config, o options) result {
	res := result{config: c}
	fail := func(err error) {
		if res.errors == 0 {
			res.firstErr = err
		}
		res.errors++
	}
	conns := make([]*conn, 0, o.conns)
	defer func() {
		for _, cn := range conns {
			cn.c.Close()
		}
	}()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for range o.conns {
		cn, err := dial(dctx, ch.addr, "/write")
		if err != nil {
			fail(err)
			return res
		}
		conns = append(conns, cn)
		if n, err := cn.do(); err != nil || n != 1 {
			fail(fmt.Errorf("creating the session: answer %d, %v", n, err))
			return res
		}
		cn.path = "/" + c.endpoint
		cn.build()
	}

	stateful := !sessionless(c.lib)
	start := time.Now()
	measured := start.Add(o.warmup)
	end := measured.Add(o.duration)
	latencies := make([][]time.Duration, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, cn := range conns {
		// Bounds every request, whatever the server does.
		_ = cn.c.SetDeadline(end.Add(10 * time.Second))
		wg.Add(1)
		go func() {
			defer wg.Done()
			latencies[i], errs[i] = load(cn, c.endpoint, stateful, measured, end)
		}()
	}
	stop := context.AfterFunc(ctx, func() {
		for _, cn := range conns {
			_ = cn.c.SetDeadline(time.Now())
		}
	})
	defer stop()

	sleepUntil(ctx, measured)
	server0, okS := cpuTime(ch.cmd.Process.Pid)
	client0, okC := cpuTime(os.Getpid())
	sleepUntil(ctx, end)
	server1, _ := cpuTime(ch.cmd.Process.Pid)
	client1, _ := cpuTime(os.Getpid())
	wall := time.Since(measured)
	wg.Wait()

	res.serverCPU, res.clientCPU = -1, -1
	if okS && okC {
		res.serverCPU = float64(server1-server0) / float64(wall)
		res.clientCPU = float64(client1-client0) / float64(wall)
	}
	var all []time.Duration
	for i := range conns {
		all = append(all, latencies[i]...)
		if errs[i] != nil {
			fail(errs[i])
		}
	}
	slices.Sort(all)
	res.requests = len(all)
	res.rps = float64(len(all)) / o.duration.Seconds()
	res.p50, res.p99 = percentile(all, 50), percentile(all, 99)
	return res
}

// load sends requests on cn until end and returns the latencies of those
// started from measured on. The counter a read answers must stay at the
// session's 1; a write must answer one more each time. Without a session
// (bare), /read answers 0 and /write 1.
func load(cn *conn, endpoint string, stateful bool, measured, end time.Time) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, 4096)
	want := 0
	switch {
	case endpoint == "write":
		want = 1
	case stateful:
		want = 1
	}
	for {
		t0 := time.Now()
		if !t0.Before(end) {
			return lat, nil
		}
		if endpoint == "write" && stateful {
			want++
		}
		n, err := cn.do()
		t1 := time.Now()
		if err != nil {
			return lat, err
		}
		if n != want {
			return lat, fmt.Errorf("answer %d, want %d: the session did not keep its counter", n, want)
		}
		if !t0.Before(measured) {
			lat = append(lat, t1.Sub(t0))
		}
	}
}

// percentile of sorted latencies, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100
	return sorted[max(rank, 1)-1]
}

// sleepUntil returns at t, or earlier when ctx ends (the connections then
// fail at once, through their deadline).
func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
