package main

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/sessionkit/sessionkit/examples/internal/demotest"
)

func TestDemo(t *testing.T) {
	m, err := demo.NewManager()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(m)
	done := make(chan error, 1)
	// fasthttp's worker pool sweeps idle workers every MaxIdleWorkerDuration
	// (10 s by default) and notices Shutdown only then: a short one ends
	// the sweeper with the test (goleak, leak_test.go).
	app.Server().MaxIdleWorkerDuration = 20 * time.Millisecond
	go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	defer func() {
		// Shutdown waits for open connections; the client's idle
		// keep-alive ones would hold it for 90 s.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	demotest.Run(t, "http://"+ln.Addr().String(), "Fiber v3")
}
