package core_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// harness is a Manager over a counting memstore behind a real HTTP server,
// with a client that keeps cookies.
type harness struct {
	t      *testing.T
	m      *core.Manager
	store  *storetest.Counting
	srv    *httptest.Server
	client *http.Client
}

func newHarness(t *testing.T, cfg core.Config, routes func(mux *http.ServeMux)) *harness {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = [][]byte{testKey}
	}
	cfg.Cookie.Insecure = true
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	store := storetest.NewCounting(memstore.New(memstore.Options{}))
	m, err := core.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	routes(mux)
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
	})
	jar, _ := cookiejar.New(nil)
	return &harness{t: t, m: m, store: store, srv: srv, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// get requests path and returns status, body and the response.
func (h *harness) get(path string, hdr ...string) (int, string, *http.Response) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b)), res
}

// cookie returns the jar's session cookie value ("" if none).
func (h *harness) cookie() string {
	u, _ := http.NewRequest("GET", h.srv.URL, nil)
	for _, c := range h.client.Jar.Cookies(u.URL) {
		if c.Name == "sid" {
			return c.Value
		}
	}
	return ""
}

// counterRoutes: /inc increments n, /get shows it, /nop ignores the session.
func counterRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/inc", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "n")
		s.Set("n", n+1)
		io.WriteString(w, itoa(n+1))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "n")
		io.WriteString(w, itoa(n))
	})
	mux.HandleFunc("/nop", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "nop")
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Regenerate()
		s.Set("user", "alice")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Destroy()
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("/user", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		u, _ := core.Get[string](s, "user")
		io.WriteString(w, u)
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func newJar() (http.CookieJar, error) { return cookiejar.New(nil) }

// quiet discards the Manager's log lines in tests.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
