package core_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

func TestConfigValidation(t *testing.T) {
	cases := map[string]core.Config{
		"short key":                {Keys: [][]byte{[]byte("short")}},
		"__Host- without Secure":   {Cookie: core.CookieConfig{Name: "__Host-x", Insecure: true}},
		"__Host- with Domain":      {Cookie: core.CookieConfig{Name: "__Host-x", Domain: "example.com"}},
		"__Host- with Path":        {Cookie: core.CookieConfig{Name: "__Host-x", Path: "/app"}},
		"__Secure- without Secure": {Cookie: core.CookieConfig{Name: "__Secure-x", Insecure: true}},
		"SameSite=None insecure":   {Cookie: core.CookieConfig{Name: "x", SameSite: http.SameSiteNoneMode, Insecure: true}},
		"Partitioned insecure":     {Cookie: core.CookieConfig{Name: "x", Partitioned: true, Insecure: true}},
		"bad cookie name":          {Cookie: core.CookieConfig{Name: "a b"}},
		"cookie name with ;":       {Cookie: core.CookieConfig{Name: "a;b"}},
		"bad path":                 {Cookie: core.CookieConfig{Path: "x;y"}},
		"idle above absolute":      {IdleTimeout: 2 * time.Hour, AbsoluteTimeout: time.Hour},
		"negative idle":            {IdleTimeout: -1},
		"weak ids":                 {IDLength: 20, IDBitsPerChar: 4},
		"bits 7":                   {IDBitsPerChar: 7},
		"gc probability":           {GCProbability: 1},
		"locking without lock":     {Locking: true},
		"bad transport":            {Transport: 9},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			var store core.Store
			if name == "locking without lock" {
				store, _ = core.FuncStore(core.Funcs{Read: nopRead, Write: nopWrite, Destroy: nopDestroy})
			}
			m, err := core.New(store, cfg)
			if !errors.Is(err, core.ErrConfig) {
				if m != nil {
					m.Close()
				}
				t.Fatalf("New accepted an invalid config (err %v)", err)
			}
		})
	}
	m, err := core.New(nil, core.Config{})
	if err != nil {
		t.Fatalf("zero Config rejected: %v", err)
	}
	m.Close()
}

func TestDefaultCookieIsHostPrefixedAndSecure(t *testing.T) {
	m, err := core.New(nil, core.Config{Cookie: core.CookieConfig{Partitioned: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Adapter().Load(context.Background(), http.Header{})
	s.Set("a", 1)
	h := http.Header{}
	if err := m.Adapter().Commit(context.Background(), s, h); err != nil {
		t.Fatal(err)
	}
	sc := h.Get("Set-Cookie")
	for _, want := range []string{"__Host-sid=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Partitioned"} {
		if !strings.Contains(sc, want) {
			t.Errorf("%q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Domain") {
		t.Errorf("%q has a Domain", sc)
	}
	if len(sc) > 4096 {
		t.Errorf("cookie of %d bytes", len(sc))
	}
}

func TestIDs(t *testing.T) {
	for _, bits := range []int{4, 5, 6} {
		m, err := core.New(nil, core.Config{IDLength: 64, IDBitsPerChar: bits, Cookie: core.CookieConfig{Insecure: true}})
		if err != nil {
			t.Fatal(err)
		}
		alphabet := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-"[:1<<bits]
		seen := map[string]bool{}
		used := map[rune]bool{}
		for i := 0; i < 200; i++ {
			s := m.Adapter().Load(context.Background(), http.Header{})
			s.Set("a", 1)
			if err := m.Adapter().Commit(context.Background(), s, http.Header{}); err != nil {
				t.Fatal(err)
			}
			id := s.ID()
			if len(id) != 64 || !core.ValidID(id) || seen[id] {
				t.Fatalf("bad or repeated id %q", id)
			}
			seen[id] = true
			for _, r := range id {
				if !strings.ContainsRune(alphabet, r) {
					t.Fatalf("%d bits: %q outside the alphabet", bits, r)
				}
				used[r] = true
			}
		}
		if len(used) != len(alphabet) {
			t.Fatalf("%d bits: only %d of %d characters used", bits, len(used), len(alphabet))
		}
		m.Close()
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestRNGFailureIsAnError(t *testing.T) {
	m, err := core.New(nil, core.Config{Cookie: core.CookieConfig{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	core.SetIDRandForTest(m, failingReader{})
	s := m.Adapter().Load(context.Background(), http.Header{})
	s.Set("a", 1)
	h := http.Header{}
	if err := m.Adapter().Commit(context.Background(), s, h); !errors.Is(err, core.ErrRNG) {
		t.Fatalf("commit with a failing RNG: %v", err)
	}
	if h.Get("Set-Cookie") != "" || s.ID() != "" {
		t.Fatal("a session was issued without randomness")
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		strings.Repeat("a", core.MinIDLength):   true,
		strings.Repeat("a", core.MaxIDLength):   true,
		strings.Repeat("a", core.MinIDLength-1): false,
		strings.Repeat("a", core.MaxIDLength+1): false,
		strings.Repeat("a", 256):                false, // PHP's sid_length limit, but no files handler can store it
		"abc-def,ghiJKL0123456789":              true,
		"../../../etc/passwd0000":               false,
		"aaaaaaaaaaaaaaaaaaaaaa\x00":            false,
		"aaaaaaaaaaaaaaaaaaaaaa\r\n":            false,
		"aaaaaaaaaaaaaaaaaaaaa b":               false,
	} {
		if core.ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v", id, !want)
		}
	}
}

func TestTooLargeDataIsRefused(t *testing.T) {
	h := newHarness(t, core.Config{MaxDataSize: 1024}, func(mux *http.ServeMux) {
		mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			s.Set("blob", bytes.Repeat([]byte{1}, 2048))
		})
	})
	status, _, res := h.get("/big")
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", status)
	}
	if res.Header.Get("Set-Cookie") != "" || h.store.WritesAll() != 0 {
		t.Fatal("oversized session was written")
	}
}

func TestNoGoroutineLeakAfterClose(t *testing.T) {
	for i := 0; i < 50; i++ {
		m, err := core.New(nil, core.Config{GCInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := runtime.Stack(buf, true)
		if !bytes.Contains(buf[:n], []byte("sessionkit/core.(*Manager)")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("manager goroutines alive after Close:\n%s", buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
