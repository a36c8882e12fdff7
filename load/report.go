package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

var frameworkNames = map[string]string{
	"nethttp": "net/http",
	"gin":     "Gin",
	"echo":    "Echo v4",
	"fiber":   "Fiber v2",
}

// libraryName is how the table names lib on framework f.
func libraryName(f, lib string) string {
	switch lib {
	case "cookie-only":
		return "bare + a session's cookie and headers, no library"
	case "floor":
		return "cookie-only + the least a session middleware does, no library"
	case "sessionkit":
		return "**sessionkit**"
	case "sessionkit-locking":
		return "**sessionkit**, locking"
	case "peer":
		return map[string]string{
			"nethttp": "scs v2 (memstore)",
			"gin":     "gin-contrib/sessions (cookie store)",
			"echo":    "echo-contrib/session (gorilla cookie store)",
			"fiber":   "fiber/middleware/session (memory)",
		}[f]
	}
	return lib
}

// report writes the environment and the table of medians to out, and
// returns how many measurements had failed requests.
func report(out io.Writer, o options, pin *pinning, results []result, took time.Duration) int {
	w := bufio.NewWriter(out)
	defer w.Flush()
	fmt.Fprintf(w, "## Load benchmark (HTTP on 127.0.0.1)\n\n")
	fmt.Fprintf(w, "- command: `%s` (`make load` runs it with LOADFLAGS)\n", strings.Join(append([]string{"cd load && go run ."}, o.args...), " "))
	fmt.Fprintf(w, "- Go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- CPU: %s, %s\n", cpuModel(), pin)
	fmt.Fprintf(w, "- load: %d keep-alive connections, one session each (created by its first request, not measured); per configuration and round %s of warm-up, then %s measured; %d rounds, interleaved framework by framework (bare, cookie-only, floor, sessionkit, sessionkit with locking, peer); %s\n",
		o.conns, o.warmup, o.duration, o.rounds, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "- medians over the rounds; \"vs bare\" is the median of each round's ratio to that round's bare run; CPU is the share of one CPU the server and the client used while measured; server CPU per request is the server's CPU time (user and system, from /proc) over the requests it answered, which other work on the machine disturbs far less than req/s and latency; bare has no session middleware (its /read and /write are the same handler); cookie-only is bare plus what a session costs on the wire: a 140-byte cookie set on the first response and sent back with every request, Cache-Control: no-store and Vary: Cookie on every response; floor is cookie-only plus the least a session middleware does for a read without a library: a clock read, a sync.Map lookup of the cookie with an expiry check, the entry handed to the handler as sessionkit hands over a session\n")
	fmt.Fprintf(w, "- took %s\n\n", took.Round(time.Second))

	fmt.Fprintln(w, "| framework | library | endpoint | req/s | p50 | p99 | req/s vs bare | p99 vs bare | server CPU per request | CPU per request vs bare | server CPU | client CPU | failed conns |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	failed := 0
	// A pinned client near the capacity of its CPUs may be what limits
	// bare; unpinned, client and servers share the CPUs anyway.
	var clientBound []string
	clientCPUs, _ := parseCPUList(pin.client)
	for _, c := range plan(o) {
		var rs []result
		for _, r := range results {
			if r.config == c {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		bare := config{c.framework, "bare", "read"}
		var rpsRatio, p99Ratio, cpuRatio []float64
		for _, r := range rs {
			for _, b := range results {
				if b.config == bare && b.round == r.round && b.rps > 0 && b.p99 > 0 {
					rpsRatio = append(rpsRatio, r.rps/b.rps)
					p99Ratio = append(p99Ratio, float64(r.p99)/float64(b.p99))
					if r.cpuPerRequest() > 0 && b.cpuPerRequest() > 0 {
						cpuRatio = append(cpuRatio, r.cpuPerRequest()/b.cpuPerRequest())
					}
				}
			}
		}
		errs := 0
		for _, r := range rs {
			errs += r.errors
			if r.errors > 0 {
				failed++
			}
		}
		ratio := func(v []float64) string {
			if c.lib == "bare" || len(v) == 0 {
				return ""
			}
			return fmt.Sprintf("%.2f", median(v))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
			frameworkNames[c.framework], libraryName(c.framework, c.lib), endpointName(c),
			median(field(rs, func(r result) float64 { return r.rps })),
			fmtDuration(time.Duration(median(field(rs, func(r result) float64 { return float64(r.p50) })))),
			fmtDuration(time.Duration(median(field(rs, func(r result) float64 { return float64(r.p99) })))),
			ratio(rpsRatio), ratio(p99Ratio),
			fmtMicros(median(field(rs, result.cpuPerRequest))), ratio(cpuRatio),
			fmtCPU(median(field(rs, func(r result) float64 { return r.serverCPU }))),
			fmtCPU(median(field(rs, func(r result) float64 { return r.clientCPU }))),
			errs)
		if c.lib == "bare" && pin.client != "" && median(field(rs, func(r result) float64 { return r.clientCPU })) >= 0.9*float64(len(clientCPUs)) {
			clientBound = append(clientBound, frameworkNames[c.framework])
		}
	}
	if len(clientBound) > 0 {
		fmt.Fprintf(w, "\nThe client used 90%% or more of its CPUs against bare %s: there the bare rate may be held back by the client, which makes the ratios to bare look better than they are.\n",
			strings.Join(clientBound, ", "))
	}
	if failed > 0 {
		fmt.Fprintf(w, "\n%d measurements had failed connections; their rows count only the requests before the failure:\n\n", failed)
		for _, r := range results {
			if r.errors > 0 {
				fmt.Fprintf(w, "- round %d, %s %s %s: %v\n", r.round, r.framework, r.lib, r.endpoint, r.firstErr)
			}
		}
	}
	return failed
}

func endpointName(c config) string {
	if sessionless(c.lib) {
		return "read = write"
	}
	return c.endpoint
}

func field(rs []result, f func(result) float64) []float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return v
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func fmtDuration(d time.Duration) string {
	if d >= time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d µs", d.Microseconds())
}

// fmtMicros formats a CPU time per request given in µs ("?" when unknown).
func fmtMicros(us float64) string {
	if us <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f µs", us)
}

func fmtCPU(share float64) string {
	if share < 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", share*100)
}

// cpuModel is the "model name" of /proc/cpuinfo, or the architecture.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
