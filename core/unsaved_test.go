package core_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// TestChangeAfterLastCommit: a change made after the request's last commit
// (by a goroutine that outlived the response, say) cannot be saved; the
// Manager says so at Release — WARN the first time, DEBUG after — instead
// of dropping it without a word. Changes a commit saved, also after the
// response headers, are not reported.
func TestChangeAfterLastCommit(t *testing.T) {
	var logs storetest.LogBuffer
	m, err := core.New(memstore.New(memstore.Options{}), core.Config{
		Keys:   [][]byte{testKey},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a := m.Adapter()
	const msg = "changed after its last commit"

	request := func(late bool) {
		t.Helper()
		s := a.Load(context.Background(), http.Header{})
		s.Set("n", 1)
		if err := a.Commit(context.Background(), s, http.Header{}); err != nil {
			t.Fatal(err)
		}
		if late {
			s.Set("n", 2) // after the last commit
		}
		a.Release(s)
	}
	request(false)
	if strings.Contains(logs.String(), msg) {
		t.Fatalf("a request whose changes were all committed was reported:\n%s", logs.String())
	}
	request(true)
	request(true)
	out := logs.String()
	if n := strings.Count(out, "level=WARN msg=\"sessionkit: the session "+msg); n != 1 {
		t.Fatalf("%d WARN lines for changes after the last commit, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "level=DEBUG msg=\"sessionkit: the session "+msg); n != 1 {
		t.Fatalf("%d DEBUG lines for the second one, want 1:\n%s", n, out)
	}

	// Through the net/http middleware: a change after the response was
	// written is saved by the commit after the handler — not reported.
	var logs2 storetest.LogBuffer
	h := newHarness(t, core.Config{Logger: slog.New(slog.NewTextHandler(&logs2, &slog.HandlerOptions{Level: slog.LevelDebug}))}, func(mux *http.ServeMux) {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			s.Set("a", 1)
			io.WriteString(w, "ok")
			s.Set("b", 2)
		})
		mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			v, _ := core.Get[int](s, "b")
			io.WriteString(w, strings.Repeat("b", v))
		})
	})
	h.get("/")
	if _, body, _ := h.get("/b"); body != "bb" {
		t.Fatalf("the change after the response was written: %q, want it saved", body)
	}
	if strings.Contains(logs2.String(), msg) {
		t.Fatalf("a change saved by the commit after the handler was reported:\n%s", logs2.String())
	}
}
