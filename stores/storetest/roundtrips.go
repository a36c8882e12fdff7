package storetest

import (
	"net/http"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit/core"
)

// RoundTripCounter counts the network round trips a networked store's
// client makes (a go-redis hook, a pgx tracer, …): those made on a
// request's behalf, which the request waits for, apart from those the
// store makes in the background after the response (lock releases).
type RoundTripCounter interface {
	// Reset starts counting from zero.
	Reset()
	// Counts returns the round trips since Reset: waited for, and made
	// in the background; detail is free text for the log (the commands
	// sent, say), or "".
	Counts() (waited, after int, detail string)
}

// roundTripCases are the request kinds RoundTrips and BenchRequests run,
// with the most round trips a request of the kind may wait for (max) and
// cost in all (maxAll, background included), without the handler ever
// calling ReadOnly except on /view, which does.
var roundTripCases = []struct {
	name     string
	locked   bool
	path     string
	browsers int // in parallel
	max      float64
	maxAll   float64
}{
	{"Read", false, "/get", 1, 1, 1},
	{"Write", false, "/inc", 1, 2, 2},
	{"LockedReadOnly", true, "/view", 1, 1, 1},
	{"LockedRead", true, "/get", 1, 1, 2},
	{"LockedWrite", true, "/inc", 1, 2, 2},
	{"LockedReadParallel", true, "/get", 16, 1, 2},
	{"LockedWriteParallel", true, "/inc", 16, 2, 2},
}

// RoundTrips checks what a request costs in network round trips, through
// the real middleware and a real HTTP server and client: a read waits for
// one round trip and a read-modify-write for two, locking on or off, also
// with 16 users in parallel; a locked read costs at most two in all (its
// lock release may go after the response). plain and locked are two
// stores over the same backend, used with locking off and on; c counts
// what their client sends; settle returns once the stores' background
// work (lock releases) is done. requests is the number of requests per
// case.
func RoundTrips(t *testing.T, c RoundTripCounter, settle func(), plain, locked core.Store, requests int) {
	apps := map[bool]string{false: NewApp(t, plain, false).URL, true: NewApp(t, locked, true).URL}
	for _, tc := range roundTripCases {
		t.Run(tc.name, func(t *testing.T) {
			url := apps[tc.locked]
			brs := make([]*http.Client, tc.browsers)
			for i := range brs {
				brs[i] = NewBrowser(t)
				MustGet(t, brs[i], url+"/login", "ok")
				for j := 0; j < 10; j++ { // warm up: scripts or statements cached, connections open
					MustGet(t, brs[i], url+tc.path, "")
				}
			}
			settle()
			c.Reset()
			var wg sync.WaitGroup
			for _, br := range brs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < requests/tc.browsers; i++ {
						if code, body, err := Get(br, url+tc.path); err != nil || code != http.StatusOK {
							t.Errorf("GET %s = %d %q, %v", tc.path, code, body, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			settle()
			waited, after, detail := c.Counts()
			n := float64(requests / tc.browsers * tc.browsers)
			per, all := float64(waited)/n, float64(waited+after)/n
			t.Logf("%s %s, %d users: %.3f round trips per request waited for, %.3f in all (%d after the response), %.0f requests; %s",
				tc.name, tc.path, tc.browsers, per, all, after, n, detail)
			if per > tc.max {
				t.Errorf("%s: %.3f round trips per request waited for, want at most %v", tc.name, per, tc.max)
			}
			if all > tc.maxAll {
				t.Errorf("%s: %.3f round trips per request in all, want at most %v", tc.name, all, tc.maxAll)
			}
		})
	}
}

// BenchRequests is one request at a time through the real middleware and
// a real HTTP server and client (client and server in one process), per
// kind of request, reporting the round trips a request waits for
// ("trips/op") and those made after its response ("after/op") beside time.
// Its arguments are RoundTrips'.
func BenchRequests(b *testing.B, c RoundTripCounter, settle func(), plain, locked core.Store) {
	apps := map[bool]string{false: NewApp(b, plain, false).URL, true: NewApp(b, locked, true).URL}
	for _, tc := range roundTripCases {
		if tc.browsers != 1 {
			continue
		}
		b.Run(tc.name, func(b *testing.B) {
			url := apps[tc.locked]
			br := NewBrowser(b)
			MustGet(b, br, url+"/login", "ok")
			MustGet(b, br, url+tc.path, "")
			settle()
			c.Reset()
			b.ResetTimer()
			for range b.N {
				MustGet(b, br, url+tc.path, "")
			}
			b.StopTimer()
			settle()
			waited, after, _ := c.Counts()
			b.ReportMetric(float64(waited)/float64(b.N), "trips/op")
			b.ReportMetric(float64(after)/float64(b.N), "after/op")
		})
	}
}
