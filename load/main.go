package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the command line: what to measure and for how long.
type options struct {
	rounds     int
	duration   time.Duration
	warmup     time.Duration
	conns      int
	frameworks []string
	libs       []string
	endpoints  []string
	profile    string   // directory for the servers' CPU and allocation profiles
	args       []string // as given, for the report
}

func main() {
	opts, pinOK, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	pin := pinningFromEnv()
	if pin == nil {
		pin = planPinning(pinOK)
		if pin.client != "" {
			// Only returns if it could not re-execute under taskset.
			pin.why = reexecPinned(pin)
			pin.client = ""
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, opts, pin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, bool, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	o := options{args: args}
	fs.IntVar(&o.rounds, "rounds", 5, "interleaved rounds; the report gives medians over them")
	fs.DurationVar(&o.duration, "duration", time.Second, "measured time per configuration and round")
	fs.DurationVar(&o.warmup, "warmup", 200*time.Millisecond, "unmeasured load before each measured time")
	fs.IntVar(&o.conns, "conns", 64, "keep-alive connections, one session each")
	frameworks := fs.String("frameworks", "nethttp,gin,echo,fiber", "frameworks to measure")
	libs := fs.String("libs", "bare,cookie-only,floor,sessionkit,sessionkit-locking,peer", "session libraries to measure (bare is the ratios' base; cookie-only is bare plus a session's cookie and headers; floor is cookie-only plus the least a session middleware does; peer is the framework's usual library)")
	endpoints := fs.String("endpoints", "read,write", "session endpoints to measure")
	fs.StringVar(&o.profile, "profile", "", "write each server's CPU and allocation profiles to this directory (FRAMEWORK-LIB.cpu, .allocs)")
	pin := fs.Bool("pin", true, "pin client and servers to separate CPUs when there are two or more (taskset)")
	if err := fs.Parse(args); err != nil {
		return o, false, err
	}
	if fs.NArg() > 0 {
		return o, false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.frameworks = strings.Split(*frameworks, ",")
	o.libs = strings.Split(*libs, ",")
	o.endpoints = strings.Split(*endpoints, ",")
	for _, f := range o.frameworks {
		if _, ok := frameworkNames[f]; !ok {
			return o, false, fmt.Errorf("unknown framework %q (nethttp, gin, echo, fiber)", f)
		}
	}
	for _, l := range o.libs {
		switch l {
		case "bare", "cookie-only", "floor", "sessionkit", "sessionkit-locking", "peer":
		default:
			return o, false, fmt.Errorf("unknown library %q (bare, cookie-only, floor, sessionkit, sessionkit-locking, peer)", l)
		}
	}
	for _, e := range o.endpoints {
		if e != "read" && e != "write" {
			return o, false, fmt.Errorf("unknown endpoint %q (read, write)", e)
		}
	}
	if o.rounds < 1 || o.duration <= 0 || o.warmup < 0 || o.conns < 1 {
		return o, false, fmt.Errorf("-rounds, -duration and -conns must be positive, -warmup not negative")
	}
	return o, *pin, nil
}

// run builds the server, starts a child per configuration, measures the
// rounds and writes the report to out; progress goes to log. Children are
// stopped before it returns, whatever happens.
func run(ctx context.Context, o options, pin *pinning, out, log io.Writer) (err error) {
	began := time.Now()
	dir, err := os.MkdirTemp("", "sessionkit-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(log, "building ./server …")
	bin, err := buildServer(ctx, dir)
	if err != nil {
		return err
	}

	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	cfgs := plan(o)
	children := map[config]*child{}
	defer func() {
		for _, c := range children {
			c.stop()
		}
	}()
	for _, c := range cfgs {
		if _, ok := children[c.server()]; ok {
			continue
		}
		ch, err := startServer(ctx, bin, pin.server, o.profile, c.server())
		if err != nil {
			return err
		}
		children[c.server()] = ch
	}

	var results []result
	for r := 1; r <= o.rounds; r++ {
		for _, c := range cfgs {
			if err := ctx.Err(); err != nil {
				return err
			}
			ch := children[c.server()]
			res := measure(ctx, ch, c, o)
			if err := ctx.Err(); err != nil {
				return err
			}
			res.round = r
			fmt.Fprintf(log, "[round %d/%d] %s\n", r, o.rounds, res)
			results = append(results, res)
		}
	}
	failed := report(out, o, pin, results, time.Since(began))
	if failed > 0 {
		return fmt.Errorf("%d measurements had failed requests (see the errors column)", failed)
	}
	return nil
}
