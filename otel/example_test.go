package sessionotel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sessionkit/sessionkit/core"
	sessionotel "github.com/sessionkit/sessionkit/otel"
)

func Example() {
	// A real program sets up an exporter and calls sessionotel.Observer()
	// with the global MeterProvider; here an in-memory reader shows what
	// gets recorded.
	reader := sdkmetric.NewManualReader()
	obs, err := sessionotel.Observer(sessionotel.WithMeterProvider(
		sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		panic(err)
	}
	m, err := core.New(nil, core.Config{
		Keys:     [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		Observer: obs,
		Cookie:   core.CookieConfig{Insecure: true},
	})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "visits")
		s.Set("visits", n+1)
	}))

	// Three visits of one browser: the session is created, then loaded twice.
	var cookies []*http.Cookie
	for range 3 {
		req := httptest.NewRequest("GET", "/", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) > 0 {
			cookies = c
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			if sum, ok := md.Data.(metricdata.Sum[int64]); ok {
				for _, p := range sum.DataPoints {
					event, _ := p.Attributes.Value("event")
					lines = append(lines, fmt.Sprintf("%s{event=%s} %d", md.Name, event.AsString(), p.Value))
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// sessionkit.session.events{event=created} 1
	// sessionkit.session.events{event=loaded} 2
}
