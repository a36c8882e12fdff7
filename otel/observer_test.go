package sessionotel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sessionkit/sessionkit/core"
	sessionotel "github.com/sessionkit/sessionkit/otel"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const rejected = "bad signature, wrong key, expired or oversized token"

// rig is a Manager reporting to sessionotel, behind a real HTTP server
// whose every request runs in a span of its own, named after its path.
type rig struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	srv    *httptest.Server
	ids    sync.Map // every session ID a handler saw
}

func newRig(t *testing.T, store core.Store, cfg core.Config) *rig {
	t.Helper()
	r := &rig{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	obs, err := sessionotel.Observer(sessionotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keys = [][]byte{testKey}
	cfg.Observer = obs
	cfg.Cookie.Insecure = true
	cfg.Logger = quiet
	m, err := core.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	session := func(f func(*core.Session)) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			s, err := core.FromContext(req.Context())
			if err != nil {
				t.Error(err)
				return
			}
			f(s)
			r.ids.Store(s.ID(), true)
		}
	}
	mux.Handle("/set", session(func(s *core.Session) { s.Set("n", 1) }))
	mux.Handle("/get", session(func(s *core.Session) { s.Get("n") }))
	mux.Handle("/login", session(func(s *core.Session) { s.Regenerate(); s.Set("user", "alice") }))
	mux.Handle("/logout", session(func(s *core.Session) { s.Destroy() }))
	tracer := tp.Tracer("test")
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx, span := tracer.Start(req.Context(), req.URL.Path)
		defer span.End()
		m.Handler(mux).ServeHTTP(w, req.WithContext(ctx))
	}))
	t.Cleanup(func() {
		r.srv.Close()
		m.Close()
		tp.Shutdown(context.Background())
	})
	return r
}

// get requests path with client (and cookie, if not empty) and returns the
// session cookie the response set.
func (r *rig) get(t *testing.T, client *http.Client, path, cookie string, want int) string {
	req, err := http.NewRequest("GET", r.srv.URL+path, nil)
	if err != nil {
		t.Error(err)
		return ""
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "sid", Value: cookie})
	}
	res, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		t.Errorf("GET %s: %s, want %d", path, res.Status, want)
	}
	for _, c := range res.Cookies() {
		if c.Name == "sid" {
			return c.Value
		}
	}
	return ""
}

// metrics collects what the rig's meter holds: every counter data point
// as "metric{attr=value,…}" → value, and the lock.wait histogram.
func (r *rig) metrics(t *testing.T) (map[string]int64, metricdata.HistogramDataPoint[float64]) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	var wait metricdata.HistogramDataPoint[float64]
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/sessionkit/sessionkit/otel" {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, md := range sm.Metrics {
			switch d := md.Data.(type) {
			case metricdata.Sum[int64]:
				if !d.IsMonotonic {
					t.Errorf("%s is not monotonic", md.Name)
				}
				for _, p := range d.DataPoints {
					counts[md.Name+"{"+attrs(p.Attributes.ToSlice())+"}"] += p.Value
				}
			case metricdata.Histogram[float64]:
				if md.Name != "sessionkit.lock.wait" || md.Unit != "s" || len(d.DataPoints) != 1 {
					t.Errorf("histogram %s in %s with %d points", md.Name, md.Unit, len(d.DataPoints))
					continue
				}
				wait = d.DataPoints[0]
			default:
				t.Errorf("%s: unexpected %T", md.Name, md.Data)
			}
		}
	}
	return counts, wait
}

// attrs renders attributes as "k=v,…" in key order, leaving out
// wait_seconds (a duration, checked on its own).
func attrs(kvs []attribute.KeyValue) string {
	var parts []string
	for _, kv := range kvs {
		if kv.Key != "wait_seconds" {
			parts = append(parts, string(kv.Key)+"="+kv.Value.Emit())
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// spanEvents counts the recorded span events as
// "span: event{attr=value,…}", and checks that every lock_wait event
// carries its wait.
func (r *rig) spanEvents(t *testing.T) map[string]int64 {
	t.Helper()
	n := map[string]int64{}
	for _, sp := range r.spans.Ended() {
		for _, ev := range sp.Events() {
			n[sp.Name()+": "+ev.Name+"{"+attrs(ev.Attributes)+"}"]++
			if ev.Name == "sessionkit.lock_wait" && !hasWait(ev.Attributes) {
				t.Errorf("%s: lock_wait event without wait_seconds: %v", sp.Name(), ev.Attributes)
			}
		}
	}
	return n
}

func hasWait(kvs []attribute.KeyValue) bool {
	for _, kv := range kvs {
		if kv.Key == "wait_seconds" && kv.Value.Type() == attribute.FLOAT64 && kv.Value.AsFloat64() >= 0 {
			return true
		}
	}
	return false
}

// noSecrets fails if a session ID or token shows up in any attribute.
func (r *rig) noSecrets(t *testing.T, tokens []string) {
	t.Helper()
	var values []string
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			switch d := md.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					for _, kv := range p.Attributes.ToSlice() {
						values = append(values, kv.Value.Emit())
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					for _, kv := range p.Attributes.ToSlice() {
						values = append(values, kv.Value.Emit())
					}
				}
			}
		}
	}
	for _, sp := range r.spans.Ended() {
		for _, ev := range sp.Events() {
			for _, kv := range ev.Attributes {
				values = append(values, kv.Value.Emit())
			}
		}
	}
	secrets := tokens
	r.ids.Range(func(id, _ any) bool {
		if id != "" {
			secrets = append(secrets, id.(string))
		}
		return true
	})
	if len(secrets) == 0 {
		t.Fatal("no IDs seen")
	}
	for _, v := range values {
		for _, s := range secrets {
			if s != "" && strings.Contains(v, s) {
				t.Errorf("attribute value %q holds a session ID or token", v)
			}
		}
	}
}

// tamper changes one character in the middle of a token, where every bit
// of the base64 counts.
func tamper(token string) string {
	b := []byte(token)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestLoad drives clients at once through a session's whole life and
// checks that the metrics and span events count exactly the requests made.
func TestLoad(t *testing.T) {
	const clients, reads = 20, 5
	r := newRig(t, nil, core.Config{Locking: true})

	var mu sync.Mutex
	var tokens []string
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			bare := &http.Client{Timeout: 10 * time.Second}

			first := r.get(t, browser, "/set", "", 200) // created
			for range reads {
				r.get(t, browser, "/get", "", 200) // loaded, lock_wait
			}
			second := r.get(t, browser, "/login", "", 200) // loaded, lock_wait, regenerated
			r.get(t, browser, "/get", "", 200)             // loaded, lock_wait
			r.get(t, browser, "/logout", "", 200)          // lock_wait, destroyed
			r.get(t, bare, "/untouched", second, 404)      // nothing: the session is never used
			r.get(t, bare, "/get", second, 200)            // lock_wait, expired{idle}
			r.get(t, bare, "/get", tamper(first), 200)     // token_rejected
			if first == "" || second == "" {
				t.Error("no session cookie from /set or /login")
			}

			mu.Lock()
			tokens = append(tokens, first, second)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	loaded := clients * (reads + 2)
	locks := loaded + clients + clients // the loads, the logouts, the replays
	wantMetrics := map[string]int64{
		"sessionkit.session.events{event=created}":                                clients,
		"sessionkit.session.events{event=loaded}":                                 int64(loaded),
		"sessionkit.session.events{event=regenerated}":                            clients,
		"sessionkit.session.events{event=destroyed}":                              clients,
		"sessionkit.session.events{event=expired,reason=idle}":                    clients,
		"sessionkit.session.events{event=token_rejected,reason=" + rejected + "}": clients,
		"sessionkit.session.events{event=lock_wait}":                              int64(locks),
	}
	counts, wait := r.metrics(t)
	if !equal(counts, wantMetrics) {
		t.Errorf("metrics:\n%s\nwant:\n%s", dump(counts), dump(wantMetrics))
	}
	if wait.Count != uint64(locks) || wait.Sum < 0 {
		t.Errorf("lock.wait: %d waits summing to %fs, want %d", wait.Count, wait.Sum, locks)
	}

	wantSpans := map[string]int64{
		"/set: sessionkit.created{event=created}":                                       clients,
		"/get: sessionkit.loaded{event=loaded}":                                         clients * (reads + 1),
		"/get: sessionkit.lock_wait{event=lock_wait}":                                   clients * (reads + 2),
		"/get: sessionkit.expired{event=expired,reason=idle}":                           clients,
		"/get: sessionkit.token_rejected{event=token_rejected,reason=" + rejected + "}": clients,
		"/login: sessionkit.loaded{event=loaded}":                                       clients,
		"/login: sessionkit.lock_wait{event=lock_wait}":                                 clients,
		"/login: sessionkit.regenerated{event=regenerated}":                             clients,
		"/logout: sessionkit.lock_wait{event=lock_wait}":                                clients,
		"/logout: sessionkit.destroyed{event=destroyed}":                                clients,
	}
	if got := r.spanEvents(t); !equal(got, wantSpans) {
		t.Errorf("span events:\n%s\nwant:\n%s", dump(got), dump(wantSpans))
	}
	r.noSecrets(t, tokens)
}

// TestStoreErrors checks the store.errors counter and its op attribute
// with a store that cannot write.
func TestStoreErrors(t *testing.T) {
	down := errors.New("store down")
	store, err := core.FuncStore(core.Funcs{
		Read:    func(context.Context, string) ([]byte, bool, error) { return nil, false, nil },
		Write:   func(context.Context, string, []byte, time.Time) error { return down },
		Destroy: func(context.Context, string) error { return down },
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, store, core.Config{})
	client := &http.Client{Timeout: 10 * time.Second}
	for range 3 {
		r.get(t, client, "/set", "", http.StatusServiceUnavailable) // a new session cannot be written
	}
	want := map[string]int64{
		"sessionkit.session.events{event=store_error}": 3, // op is on store.errors only
		"sessionkit.store.errors{op=write}":            3,
	}
	counts, _ := r.metrics(t)
	if !equal(counts, want) {
		t.Errorf("metrics:\n%s\nwant:\n%s", dump(counts), dump(want))
	}
	if got, want := r.spanEvents(t), map[string]int64{"/set: sessionkit.store_error{event=store_error,op=write}": 3}; !equal(got, want) {
		t.Errorf("span events:\n%s\nwant:\n%s", dump(got), dump(want))
	}
}

// TestDefaults checks that the global MeterProvider is the default, that
// an event outside any span still counts, and that a kind core has no name
// for is labelled "unknown".
func TestDefaults(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	old := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	t.Cleanup(func() { otel.SetMeterProvider(old) })
	obs, err := sessionotel.Observer()
	if err != nil {
		t.Fatal(err)
	}
	obs(context.Background(), core.Event{Kind: core.EventLockWait, Duration: 3 * time.Millisecond})
	obs(context.Background(), core.Event{Kind: core.EventKind(200)})
	counts, wait := (&rig{reader: reader}).metrics(t)
	want := map[string]int64{
		"sessionkit.session.events{event=lock_wait}": 1,
		"sessionkit.session.events{event=unknown}":   1,
	}
	if !equal(counts, want) {
		t.Errorf("metrics:\n%s\nwant:\n%s", dump(counts), dump(want))
	}
	if wait.Count != 1 || wait.Sum != 0.003 {
		t.Errorf("lock.wait: %d waits summing to %gs, want 1 of 0.003s", wait.Count, wait.Sum)
	}
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func dump(m map[string]int64) string {
	var lines []string
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("  %s = %d", k, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
