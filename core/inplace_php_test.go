package core_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// PHP records mode: a key holding null ($_SESSION['x'] = null, common in
// PHP code) that a concurrent request unset stays unset when a request
// that handed out an array and changed another key merges.
func TestInPlacePHPKeepsTheirUnset(t *testing.T) {
	ctx := context.Background()
	cfg, err := core.PHPConfig("php_serialize", 24*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cookie.Insecure, cfg.Logger = true, quiet
	m, err := core.New(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a := m.Adapter()
	s0 := a.Load(ctx, http.Header{})
	s0.Set("cart", []any{"a"})
	s0.Set("x", nil)
	h := http.Header{}
	if err := a.Commit(ctx, s0, h); err != nil {
		t.Fatal(err)
	}
	a.Release(s0)
	c := (&http.Response{Header: h}).Cookies()[0]
	req := http.Header{"Cookie": {c.Name + "=" + c.Value}}

	sa := a.Load(ctx, req)
	sa.Get("cart")
	sa.Set("y", "1")
	sb := a.Load(ctx, req)
	sb.Delete("x")
	if err := a.Commit(ctx, sb, http.Header{}); err != nil {
		t.Fatal(err)
	}
	a.Release(sb)
	if err := a.Commit(ctx, sa, http.Header{}); err != nil {
		t.Fatal(err)
	}
	a.Release(sa)
	s := a.Load(ctx, req)
	defer a.Release(s)
	if s.Has("x") {
		t.Fatalf("x is back: %v", s.Keys())
	}
}
