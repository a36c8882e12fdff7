package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the test
// starts the example's server on a loopback listener and must shut it,
// and its Manager's GC sweeper, down.
//
// Two goroutines of third-party code that nothing can stop are ignored
// (their top frame is time.Sleep, so they are matched anywhere on the
// stack): fasthttp's process-wide updateServerDate loop, which the first
// fasthttp server starts to refresh the cached Date header every second,
// and the clock of Fiber's logger middleware, which logger.New starts
// and never ends (one per logger; the example makes one).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/middleware/logger.New.func1"),
	)
}
