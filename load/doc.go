// Command load measures sessionkit through real HTTP servers under load,
// side by side with the bare frameworks and with each framework's usual
// session library: net/http with alexedwards/scs, Gin with
// gin-contrib/sessions, Echo v4 with echo-contrib/session and Fiber v2 with
// its own session middleware (SPEC §10, last point; bench/ measures the
// same libraries in process).
//
//	make load                                  # about 4 minutes on 2 cores
//	make load LOADFLAGS='-rounds 9 -duration 5s'
//	cd load && go run . -frameworks gin -libs bare,sessionkit -endpoints read
//	cd load && go run . -endpoints read -profile /tmp/prof   # then: go tool pprof /tmp/prof/gin-sessionkit.cpu
//
// With -profile every server writes its CPU profile (FRAMEWORK-LIB.cpu)
// and its allocation profile (FRAMEWORK-LIB.allocs; go tool pprof
// -sample_index=alloc_objects) into that directory when it stops: one
// server serves its configuration's every endpoint and round, so narrow
// the run to the endpoint to look at.
//
// It builds ./server once and starts one child per configuration, listening
// on 127.0.0.1 only. The client is in this process: keep-alive connections
// (-conns, 64 by default), each with its own session, created by its first
// request; then each connection sends GET /read (or /write) back to back for
// a warm-up and a fixed measured time, carrying its cookie. The client is a
// minimal HTTP/1.1 writer and reader, so that as much of the CPU as possible
// goes to the servers, and it checks every answer: the counter a session
// holds must be the one the connection expects.
//
// Where the machine has two CPUs or more and util-linux's taskset is
// installed, the client is pinned to the first half of the CPUs and the
// servers to the other half (this process re-executes itself under
// taskset); otherwise everything runs unpinned and the report says so.
//
// Besides bare, a cookie-only configuration measures what a session costs
// on the wire without any session library: bare's handler behind a
// middleware that sets a cookie as long as sessionkit's on the first
// response (the client sends it back with every request) and adds
// Cache-Control: no-store and Vary: Cookie to every response. The distance
// from bare to cookie-only is the price of those HTTP bytes; from
// cookie-only to sessionkit, the library's own. A floor configuration adds
// to cookie-only the least any session middleware does for a read, with
// no library: one clock read, the cookie's value looked up in a sync.Map
// and its expiry checked, the entry handed to the handler as sessionkit's
// adapter hands over a session (net/http: a request with a new context;
// Gin and Echo: the context's store and that request; Fiber: Locals and
// the user context), where the handler reads the counter: what the
// plainest hand-written session middleware would cost. From floor to
// sessionkit is what the library's guarantees add (a signed cookie
// checked, timeouts, lazy load and write, a record that is checked whole).
//
// A round measures every configuration once, one after the other and
// framework by framework (bare, cookie-only, floor, sessionkit, sessionkit
// with locking, peer), and -rounds rounds are run, so that a noisy machine shifts every
// configuration alike. The report is a markdown table of medians over the
// rounds: requests per second, p50 and p99 latency, and the ratios to the
// bare framework (each round's ratio to that round's bare run, then the
// median), with the CPU time the server and the client used. It asserts
// nothing about speed.
package main
