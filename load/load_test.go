package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPipeline runs the whole benchmark in a tiny mode: the server built,
// two configurations of net/http started (pinned where possible), one short
// round each, and the table. It checks that the table has a row per
// measurement with requests counted and no failed connection; it asserts
// nothing about speed.
func TestPipeline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	profiles := t.TempDir()
	o, _, err := parseFlags([]string{"-frameworks", "nethttp", "-libs", "bare,cookie-only,sessionkit",
		"-rounds", "1", "-duration", "200ms", "-warmup", "50ms", "-conns", "8", "-profile", profiles})
	if err != nil {
		t.Fatal(err)
	}
	pin := planPinning(true)
	if pin.client != "" {
		pin.why = "the test does not pin itself"
		pin.client = ""
	}
	var out, log bytes.Buffer
	if err := run(ctx, o, pin, &out, &log); err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, log.String(), out.String())
	}
	t.Logf("\n%s", out.String())

	want := map[string]bool{"bare read = write": false, "bare + a session's cookie and headers, no library read = write": false,
		"**sessionkit** read": false, "**sessionkit** write": false}
	for _, line := range strings.Split(out.String(), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 15 || strings.TrimSpace(cells[1]) != "net/http" {
			continue
		}
		row := strings.TrimSpace(cells[2]) + " " + strings.TrimSpace(cells[3])
		if _, ok := want[row]; !ok {
			t.Errorf("unexpected row %q", line)
			continue
		}
		want[row] = true
		if rps, err := strconv.ParseFloat(strings.TrimSpace(cells[4]), 64); err != nil || rps <= 0 {
			t.Errorf("row %q: req/s %q", row, cells[4])
		}
		if us := strings.TrimSuffix(strings.TrimSpace(cells[9]), " µs"); us != "?" {
			if v, err := strconv.ParseFloat(us, 64); err != nil || v <= 0 {
				t.Errorf("row %q: server CPU per request %q", row, cells[9])
			}
		}
		if failed := strings.TrimSpace(cells[13]); failed != "0" {
			t.Errorf("row %q: %s failed connections", row, failed)
		}
	}
	for row, seen := range want {
		if !seen {
			t.Errorf("no row %q in\n%s", row, out.String())
		}
	}
	if !strings.Contains(out.String(), "- command: ") || !strings.Contains(out.String(), "- Go: go") {
		t.Errorf("report without the command or the Go version:\n%s", out.String())
	}
	// -profile: every server wrote its CPU and allocation profiles (pprof's
	// gzipped protobuf) before it exited.
	for _, name := range []string{"nethttp-bare.cpu", "nethttp-bare.allocs", "nethttp-sessionkit.cpu", "nethttp-sessionkit.allocs"} {
		b, err := os.ReadFile(filepath.Join(profiles, name))
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("profile %s: %d bytes, %v", name, len(b), err)
		}
	}
}

func TestParseCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		bad  bool
	}{
		{in: "0", want: "0"},
		{in: "0,1", want: "0,1"},
		{in: "0-3,6", want: "0,1,2,3,6"},
		{in: "3-1", bad: true},
		{in: "x", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			cpus, err := parseCPUList(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("got %v, want an error", cpus)
				}
				return
			}
			if err != nil || cpuList(cpus) != tc.want {
				t.Fatalf("got %v, %v; want %s", cpus, err, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for _, tc := range []struct{ p, want int }{{50, 50}, {99, 99}, {100, 100}} {
		if got := percentile(d, tc.p); got != time.Duration(tc.want) {
			t.Errorf("p%d = %d, want %d", tc.p, got, tc.want)
		}
	}
	if got := percentile(d[:1], 99); got != 1 {
		t.Errorf("p99 of one = %d, want 1", got)
	}
}

// TestCookieOnly: every framework's cookie-only and floor servers send
// what a session costs on the wire and nothing else — the cookie on the
// first response only (the client sends it back), the no-store headers on
// every response — and answer as bare does.
func TestCookieOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := buildServer(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []config{
		{framework: "nethttp", lib: "cookie-only"}, {framework: "gin", lib: "cookie-only"},
		{framework: "echo", lib: "cookie-only"}, {framework: "fiber", lib: "cookie-only"},
		{framework: "nethttp", lib: "floor"}, {framework: "gin", lib: "floor"},
		{framework: "echo", lib: "floor"}, {framework: "fiber", lib: "floor"},
	} {
		t.Run(c.framework+"-"+c.lib, func(t *testing.T) {
			ch, err := startServer(ctx, bin, "", "", c)
			if err != nil {
				t.Fatal(err)
			}
			defer ch.stop()
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			for i, want := range []struct {
				body      string
				setCookie bool
			}{{"0", true}, {"0", false}, {"1", false}} {
				path := "/read"
				if i == 2 {
					path = "/write"
				}
				res, err := client.Get("http://" + ch.addr + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || string(body) != want.body {
					t.Fatalf("%s: %d %q, want 200 %q", path, res.StatusCode, body, want.body)
				}
				sc := res.Header.Get("Set-Cookie")
				if want.setCookie != (sc != "") || want.setCookie && !strings.HasPrefix(sc, "sid=") {
					t.Errorf("request %d: Set-Cookie %q, want one: %v", i, sc, want.setCookie)
				}
				if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Vary") != "Cookie" {
					t.Errorf("request %d: Cache-Control %q, Vary %q", i, res.Header.Get("Cache-Control"), res.Header.Get("Vary"))
				}
			}
		})
	}
}
