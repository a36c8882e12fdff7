package core_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit/core"
)

// events counts the Events a Manager reports.
type events struct {
	mu sync.Mutex
	n  map[core.EventKind]int
}

func (e *events) observe(_ context.Context, ev core.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[core.EventKind]int{}
	}
	e.n[ev.Kind]++
	if ev.Kind == core.EventStoreError && ev.Op == "" {
		panic("a store error without its operation")
	}
}

func (e *events) count(k core.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[k]
}

func TestObserverSeesTheLifecycle(t *testing.T) {
	ev := &events{}
	h := newHarness(t, core.Config{Observer: ev.observe, Locking: true, MaxDataSize: 256}, func(mux *http.ServeMux) {
		counterRoutes(mux)
		mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			s.Set("blob", bytes.Repeat([]byte{1}, 512))
		})
	})
	h.get("/inc")    // created
	h.get("/inc")    // loaded, lock wait
	h.get("/login")  // loaded, lock wait, regenerated
	h.get("/big")    // loaded, lock wait, too large
	h.get("/logout") // destroyed
	h.get("/get", "Cookie", "sid=forged")
	h.store.Down.Store(true)
	h.client.Jar, _ = newJar()
	h.get("/inc") // a new session cannot be stored: store error
	h.store.Down.Store(false)
	want := map[core.EventKind]int{
		core.EventCreated: 1, core.EventLoaded: 3, core.EventRegenerated: 1, core.EventTooLarge: 1,
		core.EventDestroyed: 1, core.EventTokenRejected: 1, core.EventStoreError: 1, core.EventLockWait: 4,
	}
	for k, n := range want {
		if got := ev.count(k); got != n {
			t.Errorf("%v: %d events, want %d", k, got, n)
		}
	}
	if core.EventTokenRejected.String() != "token_rejected" {
		t.Errorf("EventTokenRejected.String() = %q", core.EventTokenRejected.String())
	}
}
