// Command prometheus counts a visitor's page views in a session and
// exposes sessionkit's metrics — sessions created, loaded, regenerated,
// destroyed, tokens rejected, lock waits, store errors (the otel module,
// sessionotel) — at /metrics through the OpenTelemetry Prometheus exporter.
//
//	cd examples && go run ./prometheus [-addr 127.0.0.1:8080]
//	curl -s http://127.0.0.1:8080/metrics | grep sessionkit_
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
	sessionotel "github.com/sessionkit/sessionkit/otel"
)

// newApp returns the pages behind a session Manager that reports to
// sessionotel, and /metrics serving what the exporter collects. The caller
// closes the Manager.
func newApp(key []byte) (http.Handler, *core.Manager, error) {
	// A registry of its own rather than Prometheus' global one, so that
	// /metrics shows what this app recorded and tests can build several.
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, err
	}
	obs, err := sessionotel.Observer(sessionotel.WithMeterProvider(
		sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))))
	if err != nil {
		return nil, nil, err
	}
	m, err := core.New(nil, core.Config{
		Keys:     [][]byte{key},
		Observer: obs,
		// Each request holds its session's lock, as PHP's files handler
		// does, so /metrics has lock waits to show as well.
		Locking: true,
		// Plain HTTP on localhost: see examples/internal/demo for why this
		// is never right behind a real domain.
		Cookie: core.CookieConfig{Insecure: true},
	})
	if err != nil {
		return nil, nil, err
	}

	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "views")
		s.Set("views", n+1)
		fmt.Fprintf(w, "views: %d\n", n+1)
	})
	pages.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Regenerate()
		s.SetUser("demo")
		fmt.Fprintln(w, "signed in")
	})
	pages.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Destroy()
		fmt.Fprintln(w, "signed out")
	})

	mux := http.NewServeMux()
	// Scrapes carry no session cookie and need no session: /metrics stays
	// outside the middleware.
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", m.Handler(pages))
	return mux, m, nil
}

func main() {
	addr := flag.String("addr", demo.DefaultAddr, "listen address")
	flag.Parse()
	// A random key: sessions end when the program stops (see demo.KeyEnv
	// for a key that survives restarts).
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		log.Fatal(err)
	}
	h, m, err := newApp(key)
	if err != nil {
		log.Fatal(err)
	}
	err = demo.ListenAndServe(*addr, h)
	m.Close()
	if err != nil {
		log.Fatal(err)
	}
}
