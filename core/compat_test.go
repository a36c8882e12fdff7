package core_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

func TestStreamingKeepsTheCookieAndFlushes(t *testing.T) {
	h := newHarness(t, core.Config{}, func(mux *http.ServeMux) {
		mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			s.Set("streamed", true)
			rc := http.NewResponseController(w)
			if err := rc.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
				t.Errorf("ResponseController.SetWriteDeadline: %v", err)
			}
			for i := 0; i < 3; i++ {
				io.WriteString(w, "chunk\n")
				if err := rc.Flush(); err != nil {
					t.Errorf("ResponseController.Flush: %v", err)
				}
				w.(http.Flusher).Flush()
			}
			// A change after the first byte is still stored.
			s.Set("after", "headers")
		})
		mux.HandleFunc("/show", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			v, _ := core.Get[string](s, "after")
			io.WriteString(w, v)
		})
	})
	_, body, res := h.get("/stream")
	if body != "chunk\nchunk\nchunk" {
		t.Fatalf("body %q", body)
	}
	if res.Header.Get("Set-Cookie") == "" {
		t.Fatal("streamed response lost the session cookie")
	}
	if len(res.TransferEncoding) == 0 || res.TransferEncoding[0] != "chunked" {
		t.Fatalf("response was not streamed: %v", res.TransferEncoding)
	}
	if _, v, _ := h.get("/show"); v != "headers" {
		t.Fatalf("change made after the first byte was lost: %q", v)
	}
}

func TestHijackStillWorks(t *testing.T) {
	h := newHarness(t, core.Config{}, func(mux *http.ServeMux) {
		mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			s.Set("hijacked", true)
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			defer conn.Close()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			buf.Flush()
		})
		mux.HandleFunc("/was", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			v, _ := core.Get[bool](s, "hijacked")
			if v {
				io.WriteString(w, "yes")
			}
		})
	})
	_, body, _ := h.get("/hijack")
	if body != "hijacked" {
		t.Fatalf("body %q", body)
	}
	// The hijacked response could not carry a cookie, but the store was
	// written before the hijack: the session exists server-side.
	if h.store.WritesAll() != 1 {
		t.Fatalf("%d writes", h.store.WritesAll())
	}
}

func TestCorruptRecordIsAFreshSession(t *testing.T) {
	h := newHarness(t, core.Config{}, counterRoutes)
	h.get("/inc")
	id := ""
	s := h.m.Adapter().Load(context.Background(), http.Header{"Cookie": {"sid=" + h.cookie()}})
	id = s.ID()
	if id == "" {
		t.Fatal("no session")
	}
	for _, garbage := range [][]byte{[]byte("a|s:1:\"x\";"), {'S', 'K', 1, 0, 0xff}, {}} {
		h.store.Inner.Write(context.Background(), id, garbage, time.Now().Add(time.Hour))
		status, body, _ := h.get("/get")
		if status != http.StatusOK || body != "0" {
			t.Fatalf("corrupt record %q: %d %q", garbage, status, body)
		}
	}
}

func TestErrorHandlerIsConfigurable(t *testing.T) {
	var got error
	h := newHarness(t, core.Config{EagerLoad: true, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(http.StatusTeapot)
	}}, counterRoutes)
	h.get("/inc")
	h.store.Down.Store(true)
	status, _, _ := h.get("/get")
	if status != http.StatusTeapot || got == nil || !strings.Contains(got.Error(), "store") {
		t.Fatalf("status %d err %v", status, got)
	}
}

func TestDestroyUserLogsOutEverywhere(t *testing.T) {
	h := newHarness(t, core.Config{}, func(mux *http.ServeMux) {
		counterRoutes(mux)
		mux.HandleFunc("/bind", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			s.SetUser("bob")
			s.Set("user", "bob")
		})
	})
	if _, ok := h.store.Inner.(core.UserIndex); !ok {
		t.Fatal("memstore should index users")
	}
	var cookies []string
	for i := 0; i < 3; i++ {
		h.client.Jar, _ = newJar()
		h.get("/bind")
		cookies = append(cookies, h.cookie())
	}
	n, err := h.m.DestroyUser(context.Background(), "bob")
	if err != nil || n != 3 {
		t.Fatalf("DestroyUser = %d, %v", n, err)
	}
	for _, c := range cookies {
		if _, u, _ := h.get("/user", "Cookie", "sid="+c); u != "" {
			t.Fatal("a session survived DestroyUser")
		}
	}
}

// The middleware's writer claims Flusher, Hijacker and ReaderFrom exactly
// when the writer under it has them.
func TestWriterClaimsOnlyWhatItHas(t *testing.T) {
	m, err := core.New(nil, core.Config{Keys: [][]byte{testKey}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var flush, hijack, readFrom bool
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, flush = w.(http.Flusher)
		_, hijack = w.(http.Hijacker)
		_, readFrom = w.(io.ReaderFrom)
	}))
	h.ServeHTTP(newRecorder(), mustRequest(t)) // Header, Write, WriteHeader only
	if flush || hijack || readFrom {
		t.Fatalf("over a bare writer: Flusher %v, Hijacker %v, ReaderFrom %v; want none", flush, hijack, readFrom)
	}
	h.ServeHTTP(httptest.NewRecorder(), mustRequest(t)) // a Flusher
	if !flush || hijack || readFrom {
		t.Fatalf("over httptest.ResponseRecorder: Flusher %v, Hijacker %v, ReaderFrom %v; want the Flusher only", flush, hijack, readFrom)
	}
	srv := httptest.NewServer(h) // net/http's own writer has all three
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !flush || !hijack || !readFrom {
		t.Fatalf("over net/http's writer: Flusher %v, Hijacker %v, ReaderFrom %v; want all", flush, hijack, readFrom)
	}
}

// A Secure cookie sent over plain HTTP to a host other than loopback is
// dropped by browsers: the Manager says so, once, at WARN.
func TestSecureCookieOverPlainHTTPWarnsOnce(t *testing.T) {
	var logged strings.Builder
	m, err := core.New(nil, core.Config{Keys: [][]byte{testKey}, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Set("n", 1)
	}))
	for _, host := range []string{"localhost:8080", "127.0.0.1:8080", "[::1]:8080"} {
		r := httptest.NewRequest("GET", "http://"+host+"/", nil)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if strings.Contains(logged.String(), "plain HTTP") {
		t.Fatalf("warned for a loopback host: %s", logged.String())
	}
	for i := 0; i < 3; i++ {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://app.example/", nil))
	}
	if n := strings.Count(logged.String(), "plain HTTP"); n != 1 {
		t.Fatalf("warned %d times, want once: %s", n, logged.String())
	}
}
