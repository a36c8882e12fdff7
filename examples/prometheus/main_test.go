package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestMetrics(t *testing.T) {
	h, m, err := newApp([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	do := func(c *http.Client, method, path, want string, cookies ...*http.Cookie) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != want {
			t.Fatalf("%s %s: %s %q, want 200 %q", method, path, res.Status, body, want)
		}
	}
	do(browser, "GET", "/", "views: 1")        // created
	do(browser, "GET", "/", "views: 2")        // loaded, lock wait
	do(browser, "GET", "/", "views: 3")        // loaded, lock wait
	do(browser, "POST", "/login", "signed in") // loaded, lock wait, regenerated
	do(browser, "GET", "/", "views: 4")        // loaded, lock wait
	u, _ := url.Parse(srv.URL)
	token := jar.Cookies(u)[0]
	do(browser, "POST", "/logout", "signed out") // lock wait, destroyed
	// A tampered token: rejected, and the page starts a new session.
	token.Value = strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, token.Value[:1]) + token.Value[1:]
	do(&http.Client{Timeout: 10 * time.Second}, "GET", "/", "views: 1", token) // token_rejected, created

	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}

	got := map[string]float64{}
	for _, mt := range families["sessionkit_session_events_total"].GetMetric() {
		key := label(mt, "event")
		if r := label(mt, "reason"); r != "" {
			key += "{reason=" + r + "}"
		}
		got[key] = mt.GetCounter().GetValue()
	}
	want := map[string]float64{
		"created":     2,
		"loaded":      4,
		"regenerated": 1,
		"destroyed":   1,
		"lock_wait":   5,
		"token_rejected{reason=bad signature, wrong key, expired or oversized token}": 1,
	}
	if len(got) != len(want) {
		t.Errorf("sessionkit_session_events_total: %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("sessionkit_session_events_total %s: %v, want %v", k, got[k], v)
		}
	}
	waits := families["sessionkit_lock_wait_seconds"].GetMetric()
	if len(waits) != 1 || waits[0].GetHistogram().GetSampleCount() != 5 {
		t.Errorf("sessionkit_lock_wait_seconds: %v, want 5 samples", waits)
	}
	if f, ok := families["sessionkit_store_errors_total"]; ok {
		t.Errorf("store errors: %v", f)
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
