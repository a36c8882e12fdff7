//go:build go1.25

// synctest needs the timer channels of Go 1.23+, which the module's go line
// would otherwise switch off.

//go:debug asynctimerchan=0

package core_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// client drives a Manager without HTTP, so that the whole lifecycle runs
// inside a synctest bubble on fake time.
type client struct {
	t     *testing.T
	m     *core.Manager
	token string
}

func (c *client) do(f func(s *core.Session)) *core.Session {
	c.t.Helper()
	ctx := context.Background()
	hdr := http.Header{}
	if c.token != "" {
		hdr.Set("Cookie", "sid="+c.token)
	}
	s := c.m.Adapter().Load(ctx, hdr)
	f(s)
	out := http.Header{}
	if err := c.m.Adapter().Commit(ctx, s, out); err != nil {
		c.t.Fatal(err)
	}
	c.m.Adapter().Release(s)
	if sc := out.Get("Set-Cookie"); sc != "" {
		v := strings.TrimPrefix(strings.SplitN(sc, ";", 2)[0], "sid=")
		c.token = v
	}
	return s
}

func (c *client) counter() int {
	var n int
	c.do(func(s *core.Session) { n, _ = core.Get[int](s, "n") })
	return n
}

func newClient(t *testing.T, cfg core.Config) *client {
	cfg.Keys = [][]byte{testKey}
	cfg.Cookie.Insecure = true
	cfg.Logger = quiet
	m, err := core.New(memstore.New(memstore.Options{}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &client{t: t, m: m}
}

func TestIdleTimeoutExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, core.Config{IdleTimeout: 30 * time.Minute, TouchInterval: time.Minute})
		c.do(func(s *core.Session) { s.Set("n", 7) })
		time.Sleep(30*time.Minute - time.Second)
		if c.counter() != 7 {
			t.Fatal("session gone before its idle timeout")
		}
		// That request touched the session: it now lives 30 min from then.
		time.Sleep(30*time.Minute - time.Second)
		if c.counter() != 7 {
			t.Fatal("touch did not extend the idle timeout")
		}
		time.Sleep(30 * time.Minute)
		if c.counter() != 0 {
			t.Fatal("session outlived its idle timeout")
		}
	})
}

func TestAbsoluteTimeoutExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, core.Config{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 2 * time.Hour, TouchInterval: -1})
		c.do(func(s *core.Session) { s.Set("n", 1) })
		// Stay active: a request every 20 minutes.
		for elapsed := 20 * time.Minute; elapsed < 2*time.Hour; elapsed += 20 * time.Minute {
			time.Sleep(20 * time.Minute)
			if c.counter() != 1 {
				t.Fatalf("active session ended after %v, before the absolute timeout", elapsed)
			}
		}
		time.Sleep(20 * time.Minute) // now exactly 2h after creation
		if c.counter() != 0 {
			t.Fatal("session outlived its absolute timeout")
		}
	})
}

func TestRegenerateDoesNotResetAbsoluteDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, core.Config{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: time.Hour, TouchInterval: -1})
		c.do(func(s *core.Session) { s.Set("n", 1) })
		for i := 0; i < 5; i++ {
			time.Sleep(10 * time.Minute)
			c.do(func(s *core.Session) { s.Regenerate() })
		}
		time.Sleep(10 * time.Minute)
		if c.counter() != 0 {
			t.Fatal("periodic regeneration made the session outlive its absolute timeout")
		}
	})
}

func TestRememberMe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, core.Config{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: time.Hour,
			RememberIdleTimeout: 24 * time.Hour, RememberAbsoluteTimeout: 7 * 24 * time.Hour})
		var hdr http.Header
		s := c.m.Adapter().Load(context.Background(), http.Header{})
		s.Set("n", 1)
		s.Remember(true)
		hdr = http.Header{}
		if err := c.m.Adapter().Commit(context.Background(), s, hdr); err != nil {
			t.Fatal(err)
		}
		sc := hdr.Get("Set-Cookie")
		if !strings.Contains(sc, "Max-Age=604800") {
			t.Fatalf("remember-me cookie is not persistent: %q", sc)
		}
		c.token = strings.TrimPrefix(strings.SplitN(sc, ";", 2)[0], "sid=")
		time.Sleep(20 * time.Hour)
		if c.counter() != 1 {
			t.Fatal("remembered session ended at the normal idle timeout")
		}
	})
}

func TestTouchIsThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := storetest.NewCounting(memstore.New(memstore.Options{}))
		m, err := core.New(store, core.Config{Keys: [][]byte{testKey}, Cookie: core.CookieConfig{Insecure: true},
			IdleTimeout: 30 * time.Minute, TouchInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		c := &client{t: t, m: m}
		c.do(func(s *core.Session) { s.Set("n", 1) })
		for i := 0; i < 600; i++ { // ten minutes, a request a second
			time.Sleep(time.Second)
			c.counter()
		}
		if n := store.Touches.Load(); n < 9 || n > 10 {
			t.Fatalf("%d touches in 10 minutes with a 1-minute interval", n)
		}
		if store.WritesAll() != 1 {
			t.Fatalf("%d writes, want only the first", store.WritesAll())
		}
	})
}

func TestBackgroundGC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := storetest.NewCounting(memstore.New(memstore.Options{}))
		m, err := core.New(store, core.Config{Keys: [][]byte{testKey}, GCInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3*time.Minute + time.Second)
		synctest.Wait()
		if n := store.GCs.Load(); n != 3 {
			t.Fatalf("%d GC runs in 3 minutes at a 1-minute interval", n)
		}
		m.Close()
		time.Sleep(5 * time.Minute)
		if n := store.GCs.Load(); n != 3 {
			t.Fatal("GC ran after Close")
		}
	})
}

func TestExplicitAndProbabilisticGC(t *testing.T) {
	mem := memstore.New(memstore.Options{})
	store := storetest.NewCounting(mem)
	ctx := context.Background()
	mem.Write(ctx, strings.Repeat("e", 43), []byte("x"), time.Now().Add(10*time.Millisecond))
	time.Sleep(20 * time.Millisecond)
	m, err := core.New(store, core.Config{Keys: [][]byte{testKey}, GCInterval: -1, GCProbability: 1, GCDivisor: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	n, err := m.GC(ctx)
	if err != nil || n != 1 {
		t.Fatalf("GC removed %d (%v), want 1", n, err)
	}
	s := m.Adapter().Load(ctx, http.Header{})
	s.Set("a", 1)
	if err := m.Adapter().Commit(ctx, s, http.Header{}); err != nil {
		t.Fatal(err)
	}
	m.Close() // waits for the probabilistic GC the commit started
	if store.GCs.Load() != 2 {
		t.Fatalf("probability 1/1 ran GC %d times after one commit", store.GCs.Load()-1)
	}
}

// TestSlowRequestExtendsIdle: whether a read extends the idle expiry is
// judged when the request commits, not when it started: a session read by
// a request that took long (an upload) was used until its end, and must
// outlive it by IdleTimeout (found by a review: judging at the start let
// the session expire 0.3 s after such a request).
func TestSlowRequestExtendsIdle(t *testing.T) {
	h := newHarness(t, core.Config{IdleTimeout: 2 * time.Second, TouchInterval: time.Second}, func(mux *http.ServeMux) {
		counterRoutes(mux)
		mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			n, _ := core.Get[int](s, "n")
			time.Sleep(900 * time.Millisecond)
			io.WriteString(w, itoa(n))
		})
	})
	if _, body, _ := h.get("/inc"); body != "1" {
		t.Fatalf("/inc = %q", body)
	}
	time.Sleep(800 * time.Millisecond) // under TouchInterval when /slow starts, over it when it ends
	if _, body, _ := h.get("/slow"); body != "1" {
		t.Fatalf("/slow = %q", body)
	}
	time.Sleep(600 * time.Millisecond) // 2.3 s after the write, 0.6 s after the slow request
	if _, body, _ := h.get("/get"); body != "1" {
		t.Fatalf("0.6 s after a request that used it, the session was gone (/get = %q)", body)
	}
}
