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
	a, req := newSessionOf(t, m, map[string]any{"cart": []any{"a"}, "x": nil})

	sa := a.Load(ctx, req)
	sa.Get("cart")
	sa.Set("y", "1")
	otherRequest(t, a, req, func(s *core.Session) { s.Delete("x") })
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
