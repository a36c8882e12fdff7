package core_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"unsafe"

	"github.com/sessionkit/sessionkit/core"
)

// bufferHeader is a RequestHeader whose values view one buffer, as the
// Fiber adapters' do (fasthttp reuses it after the request).
type bufferHeader struct {
	key string
	buf []byte
}

func (h bufferHeader) Values(key string) []string {
	if !strings.EqualFold(key, h.key) {
		return nil
	}
	return []string{unsafe.String(unsafe.SliceData(h.buf), len(h.buf))}
}

// TestLoadKeepsNoHeaderBytes: Load keeps nothing of the header values it
// reads (RequestHeader's promise to adapters), for every transport: once
// the buffer is overwritten, the session still has its ID and its data.
func TestLoadKeepsNoHeaderBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  core.Config
		key  string // the request header the token travels in
	}{
		{"cookie", core.Config{Keys: [][]byte{testKey}}, "Cookie"},
		{"header", core.Config{Keys: [][]byte{testKey}, Transport: core.TransportHeader}, "X-Session-Token"},
		{"raw cookie", core.Config{Transport: core.TransportRawCookie, Cookie: core.CookieConfig{Insecure: true, Name: "PHPSESSID"}}, "Cookie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = quiet
			if tc.cfg.Transport == core.TransportHeader {
				tc.cfg.HeaderName = tc.key
			}
			m, err := core.New(nil, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			a := m.Adapter()
			ctx := context.Background()

			s := a.Load(ctx, http.Header{})
			s.Set("n", 7)
			out := http.Header{}
			if err := a.Commit(ctx, s, out); err != nil {
				t.Fatal(err)
			}
			a.Release(s)
			id := s.ID()
			value := out.Get(tc.key)
			if tc.key == "Cookie" {
				value, _, _ = strings.Cut(out.Get("Set-Cookie"), ";")
			}
			if value == "" {
				t.Fatalf("no token in %v", out)
			}

			// Twice: the second Load of a signed token is a cache hit.
			for range 2 {
				h := bufferHeader{key: tc.key, buf: []byte(value)}
				s = a.Load(ctx, h)
				for i := range h.buf {
					h.buf[i] = 'x'
				}
				if got := s.ID(); got != id {
					t.Fatalf("ID after the header buffer was reused = %q, want %q", got, id)
				}
				if n, ok := core.Get[int](s, "n"); !ok || n != 7 {
					t.Fatalf("n = %v, %v; want the stored 7", n, ok)
				}
				a.Release(s)
			}
		})
	}
}
