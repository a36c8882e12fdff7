// Command server is the HTTP server the load benchmark measures: one
// framework with one session library, on 127.0.0.1 only. The load driver
// builds it once and starts one per configuration:
//
//	server -framework gin -lib sessionkit
//
// It prints its address on the first line of stdout and serves until its
// stdin closes, so it never outlives the driver, even one killed with
// SIGKILL.
//
// Every configuration serves two endpoints over one counter n in the
// session: GET /read answers n, GET /write stores n+1 and answers it. The
// bare configurations have no session: /read answers 0, /write 1. So do
// the cookie-only ones, which add to bare what a session costs on the
// wire and nothing else: a cookie as long as sessionkit's on the first
// response (which the client then sends with every request), and
// Cache-Control: no-store and Vary: Cookie on every response. The floor
// ones add to cookie-only the least a session middleware does for a read,
// with no session library: read the clock, find the cookie's value, look
// it up in an in-memory map and check the entry's expiry, then hand the
// entry to the handler the way sessionkit's adapter for that framework
// does (see floorOf); the handler reads n from it (always 0: nothing
// writes it).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// key signs the cookies of sessionkit and of the gorilla cookie stores.
var key = []byte("load-key-load-key-load-key-32byt")

// counter is one library's way to read and write n in the session of a
// request, whose context has type C.
type counter[C any] struct {
	get func(C) int
	set func(C, int)
}

// bare is the counter of the configurations without sessions.
func bare[C any]() counter[C] {
	return counter[C]{get: func(C) int { return 0 }, set: func(C, int) {}}
}

// servers maps -framework to its server; each takes -lib.
var servers = map[string]func(ln net.Listener, lib string) error{
	"nethttp": serveNetHTTP,
	"gin":     serveGin,
	"echo":    serveEcho,
	"fiber":   serveFiber,
}

// stopProfile ends the -cpuprofile profile and writes the -memprofile one,
// if any, before the server exits.
var stopProfile = func() {}

func main() {
	framework := flag.String("framework", "nethttp", "nethttp, gin, echo or fiber")
	lib := flag.String("lib", "bare", "bare, cookie-only, floor, sessionkit, sessionkit-locking or peer (the framework's usual session library)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until stdin closes (profiling under load)")
	memprofile := flag.String("memprofile", "", "write an allocation profile to this file when stdin closes (go tool pprof -sample_index=alloc_objects)")
	flag.Parse()
	if *memprofile != "" {
		stopProfile = func() { writeAllocs(*memprofile) }
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile() // on the stdin path below
		then := stopProfile
		stopProfile = func() { pprof.StopCPUProfile(); f.Close(); then() }
	}
	serve, ok := servers[*framework]
	if !ok {
		log.Fatalf("server: unknown -framework %q", *framework)
	}
	switch *lib {
	case "bare", "cookie-only", "floor", "sessionkit", "sessionkit-locking", "peer":
	default:
		log.Fatalf("server: unknown -lib %q", *lib)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stopProfile()
		os.Exit(0)
	}()
	log.Fatal(serve(ln, *lib))
}

// writeAllocs writes the allocation profile of the whole run to path.
func writeAllocs(path string) {
	f, err := os.Create(path)
	if err != nil {
		log.Print(err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		log.Print(err)
	}
}

// manager is sessionkit on its memory store, with or without locking. The
// cookie is not Secure: the benchmark speaks plain HTTP.
func manager(lib string) *core.Manager {
	m, err := core.New(nil, core.Config{
		Keys:    [][]byte{key},
		Cookie:  core.CookieConfig{Insecure: true},
		Locking: lib == "sessionkit-locking",
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	return m
}

// serveHTTP serves h on ln with net/http's server, as Gin and Echo run too.
func serveHTTP(ln net.Listener, h http.Handler) error {
	return (&http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}).Serve(ln)
}

func itoa(n int) string { return strconv.Itoa(n) }

// The cookie-only configurations' cookie: sessionkit's name, attributes
// and length (a token for a 43-character ID is 140 bytes).
const (
	onlyCookieName = "sid"
	onlyCookie     = "sid=MTc5NjEyMjI2MHxhMkk1U1hOSmEzSnlOUzE2TEZWTVVUY3RTMmhMTUdsNFRIVnVWRU13VUZZNWMxbEhVMjFqWlZkVlJBPT18Y3UODMXqML6XjXLOcHSEbHQHTnp9pu1B2INSldjn-08=; Path=/; HttpOnly; SameSite=Lax"
)

// The header values every response of a used session carries.
var noStore, varyCookie = []string{"no-store"}, []string{"Cookie"}

// onlyHeaders is the cookie-only middleware's work: req is the request's
// header, h the response's. It looks for the cookie without parsing the
// Cookie header (net/http's Request.Cookie would allocate).
func onlyHeaders(req, h http.Header) {
	if !strings.Contains(req.Get("Cookie"), onlyCookieName+"=") {
		h["Set-Cookie"] = []string{onlyCookie}
	}
	h["Cache-Control"] = noStore
	h["Vary"] = varyCookie
}

// floorEntry is a floor configuration's session: what a store lookup
// returns.
type floorEntry struct {
	n     int
	until time.Time // its expiry
}

// floorSessions maps a cookie value to its entry. It holds the one cookie
// the cookie-only middleware sets, from the start.
var floorSessions sync.Map

func init() {
	v := strings.TrimPrefix(onlyCookie[:strings.IndexByte(onlyCookie, ';')], onlyCookieName+"=")
	floorSessions.Store(v, &floorEntry{until: time.Now().Add(24 * time.Hour)})
}

// floorLookup is the floor middleware's session lookup, from the value of
// the sid cookie: nil for none, an unknown value or an expired entry.
func floorLookup(value string) *floorEntry {
	now := time.Now()
	v, ok := floorSessions.Load(value)
	if !ok {
		return nil
	}
	e := v.(*floorEntry)
	if !now.Before(e.until) {
		return nil
	}
	return e
}

// floorCookie is the sid cookie's value in a request's Cookie header,
// which the load client sends as the only cookie.
func floorCookie(h string) string {
	v, _ := strings.CutPrefix(h, onlyCookieName+"=")
	return v
}

// floorKey is the context key of the floor's entry.
type floorKey struct{}

// floorN is what a floor handler answers for the entry its middleware
// handed over.
func floorN(v any) int {
	if e, ok := v.(*floorEntry); ok && e != nil {
		return e.n
	}
	return 0
}
