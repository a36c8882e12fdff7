package core_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
)

type swapHookStore struct {
	*memstore.Store
	before, beforeAgain func()
}

func (h *swapHookStore) Swap(ctx context.Context, id string, old, new []byte, exp time.Time) (bool, error) {
	if f := h.before; f != nil {
		f()
	}
	return h.Store.Swap(ctx, id, old, new, exp)
}

// Several rebases in a row (another request commits before each of A's
// swaps): the in-place change survives every merge, and a change through
// the same reference after the commit is saved by the next one.
func TestInPlaceManyRebases(t *testing.T) {
	ctx := context.Background()
	hs := &swapHookStore{Store: memstore.New(memstore.Options{})}
	m, err := core.New(hs, core.Config{Cookie: core.CookieConfig{Insecure: true}, Logger: quiet, Keys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a, req := newSessionOf(t, m, map[string]any{"v": []int{1}, "m": map[string]any{"k": "a"}, "other": 0})

	sa := a.Load(ctx, req)
	l, _ := core.Get[[]int](sa, "v")
	mm, _ := core.Get[map[string]any](sa, "m")
	l[0] = 2
	left := 5
	hs.before = func() {
		if left == 0 {
			return
		}
		left--
		hs.before = nil
		sb := a.Load(ctx, req)
		n, _ := core.Get[int](sb, "other")
		sb.Set("other", n+1)
		if err := a.Commit(ctx, sb, http.Header{}); err != nil {
			t.Error(err)
		}
		a.Release(sb)
		hs.before = hs.beforeAgain
	}
	hs.beforeAgain = hs.before
	if err := a.Commit(ctx, sa, http.Header{}); err != nil {
		t.Fatal(err)
	}
	hs.before = nil
	l[0], mm["k"] = 3, "b"
	if err := a.Commit(ctx, sa, nil); err != nil {
		t.Fatal(err)
	}
	a.Release(sa)
	if v, o, mv := stored[[]int](t, a, req, "v"), stored[int](t, a, req, "other"), stored[map[string]any](t, a, req, "m"); v[0] != 3 || o != 5 || mv["k"] != "b" {
		t.Fatalf("v=%v other=%v m=%v", v, o, mv)
	}
}
