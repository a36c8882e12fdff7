package fiberv3session_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// scenario suite runs the adapter behind a real listener and must shut
// it down, with every connection and Manager it started.
//
// One goroutine is fasthttp's own global state and is ignored: the first
// fasthttp server in a process starts updateServerDate's loop, which
// refreshes the cached Date header every second for the life of the
// process and has no way to stop. Its top frame is time.Sleep, so it is
// matched anywhere on the stack.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"))
}
