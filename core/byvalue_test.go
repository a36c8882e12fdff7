package core_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

type countingCodec struct {
	core.BinaryCodec
	enc *atomic.Int64
}

func (c countingCodec) Encode(v map[string]any) ([]byte, error) {
	c.enc.Add(1)
	return c.BinaryCodec.Encode(v)
}

type byValueProfile struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func init() {
	if err := core.RegisterType[byValueProfile](); err != nil {
		panic(err)
	}
}

// A request that only reads values handed out by value (a time.Time, a
// registered struct of scalars, a nil) encodes nothing at commit: nothing
// reachable from them is the session's own.
func TestReadByValueEncodesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"time", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"registered scalar struct", byValueProfile{ID: 1, Name: "a"}},
		{"nil", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var enc atomic.Int64
			m, err := core.New(nil, core.Config{Cookie: core.CookieConfig{Insecure: true}, Logger: quiet, Codec: countingCodec{enc: &enc}})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			a, req := newSessionOf(t, m, map[string]any{"k": tc.v})
			enc.Store(0)
			s := a.Load(ctx, req)
			s.Get("k")
			if err := a.Commit(ctx, s, http.Header{}); err != nil {
				t.Fatal(err)
			}
			if err := a.Commit(ctx, s, nil); err != nil {
				t.Fatal(err)
			}
			a.Release(s)
			if n := enc.Load(); n != 0 {
				t.Fatalf("a read-only request encoded the session %d times", n)
			}
		})
	}
}
