package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// pinning is where the client and the servers run: taskset CPU lists, or
// empty for unpinned, with the reason in why.
type pinning struct {
	cpus   []int // the CPUs this process could use at start
	client string
	server string
	why    string
}

// pinEnv hands the pinning to the process re-executed under taskset.
const pinEnv = "SESSIONKIT_LOAD_PINNING"

// planPinning splits the CPUs this process may use: the first half for the
// client, the rest for the servers. On one CPU, without taskset or with
// -pin=false everything runs unpinned.
func planPinning(enabled bool) *pinning {
	p := &pinning{}
	taskset, err := exec.LookPath("taskset")
	if err == nil {
		p.cpus, err = affinity(taskset)
	}
	switch {
	case !enabled:
		p.why = "-pin=false"
	case err != nil:
		p.why = fmt.Sprintf("cannot pin: %v", err)
	case len(p.cpus) < 2:
		p.why = "only one CPU"
	default:
		half := len(p.cpus) / 2
		p.client = cpuList(p.cpus[:half])
		p.server = cpuList(p.cpus[half:])
	}
	if p.cpus == nil {
		for i := range runtime.NumCPU() {
			p.cpus = append(p.cpus, i)
		}
	}
	return p
}

// affinity asks taskset which CPUs this process may run on.
func affinity(taskset string) ([]int, error) {
	out, err := exec.Command(taskset, "-cp", strconv.Itoa(os.Getpid())).Output()
	if err != nil {
		return nil, fmt.Errorf("taskset -cp: %w", err)
	}
	// "pid 123's current affinity list: 0,2-3"
	_, list, ok := strings.Cut(strings.TrimSpace(string(out)), ": ")
	if !ok {
		return nil, fmt.Errorf("taskset -cp: unexpected output %q", out)
	}
	return parseCPUList(list)
}

// parseCPUList reads taskset's list format: "0,2-3".
func parseCPUList(list string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a > b {
			return nil, fmt.Errorf("bad CPU list %q", list)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

// reexecPinned replaces this process by itself under taskset -c p.client,
// so that every thread of the client is pinned from the start. It returns
// only on failure, with the reason the client stays unpinned.
func reexecPinned(p *pinning) string {
	self, err := os.Executable()
	if err != nil {
		return fmt.Sprintf("client not pinned: %v", err)
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return fmt.Sprintf("client not pinned: %v", err)
	}
	env := append(os.Environ(), pinEnv+"="+p.client+"|"+p.server+"|"+cpuList(p.cpus))
	argv := append([]string{"taskset", "-c", p.client, self}, os.Args[1:]...)
	err = syscall.Exec(taskset, argv, env)
	return fmt.Sprintf("client not pinned: exec taskset: %v", err)
}

// pinningFromEnv is the pinning of a process that reexecPinned started, or
// nil.
func pinningFromEnv() *pinning {
	v, ok := os.LookupEnv(pinEnv)
	if !ok {
		return nil
	}
	os.Unsetenv(pinEnv) // not for the servers
	f := strings.Split(v, "|")
	if len(f) != 3 {
		return nil
	}
	cpus, err := parseCPUList(f[2])
	if err != nil {
		return nil
	}
	return &pinning{cpus: cpus, client: f[0], server: f[1]}
}

// String says where the client and the servers run, for the report.
func (p *pinning) String() string {
	n := len(p.cpus)
	s := fmt.Sprintf("%d CPUs (%s)", n, cpuList(p.cpus))
	if n == 1 {
		s = fmt.Sprintf("1 CPU (%s)", cpuList(p.cpus))
	}
	switch {
	case p.client != "" && p.server != "":
		return s + fmt.Sprintf("; client pinned to CPU %s (taskset -c %s), servers to CPU %s (taskset -c %s)", p.client, p.client, p.server, p.server)
	case p.server != "":
		return s + fmt.Sprintf("; client unpinned (%s), servers pinned to CPU %s (taskset -c %s)", p.why, p.server, p.server)
	default:
		return s + fmt.Sprintf("; client and servers unpinned (%s)", p.why)
	}
}
