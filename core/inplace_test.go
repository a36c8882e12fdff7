package core_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/sessionkit/sessionkit/core"
)

// inPlaceCart is a registered type that holds a map: a Get of it hands out
// a copy of the struct whose map is the session's own.
type inPlaceCart struct {
	Items map[string]string `json:"items"`
}

func init() {
	if err := core.RegisterType[inPlaceCart](); err != nil {
		panic(err)
	}
}

// inPlaceManager is a Manager on the memory store, with an adapter, and
// the request header of a session it created holding values.
func inPlaceManager(t *testing.T, values map[string]any) (*core.Manager, core.Adapter, http.Header) {
	t.Helper()
	m, err := core.New(nil, core.Config{Cookie: core.CookieConfig{Insecure: true}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	a, req := newSessionOf(t, m, values)
	return m, a, req
}

// newSessionOf creates a session of m holding values and returns m's
// adapter and the request header that names the session.
func newSessionOf(t *testing.T, m *core.Manager, values map[string]any) (core.Adapter, http.Header) {
	t.Helper()
	a := m.Adapter()
	ctx := context.Background()
	s := a.Load(ctx, http.Header{})
	for k, v := range values {
		s.Set(k, v)
	}
	h := http.Header{}
	if err := a.Commit(ctx, s, h); err != nil {
		t.Fatal(err)
	}
	a.Release(s)
	return a, cookieHeader(t, h)
}

// cookieHeader is the request header that sends back the one cookie a
// response header set.
func cookieHeader(t *testing.T, h http.Header) http.Header {
	t.Helper()
	cookies := (&http.Response{Header: h}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie %q", h.Values("Set-Cookie"))
	}
	return http.Header{"Cookie": {cookies[0].Name + "=" + cookies[0].Value}}
}

// stored reads key of the session req names, in a request of its own.
func stored[T any](t *testing.T, a core.Adapter, req http.Header, key string) T {
	t.Helper()
	s := a.Load(context.Background(), req)
	defer a.Release(s)
	v, ok := core.Get[T](s, key)
	if !ok {
		t.Fatalf("%q: absent or not a %T (err %v)", key, v, s.Err())
	}
	return v
}

// otherRequest is request B of the session req names, run while A is
// under way: it does f to its session and commits, and returns the
// response header it wrote.
func otherRequest(t *testing.T, a core.Adapter, req http.Header, f func(*core.Session)) http.Header {
	t.Helper()
	ctx := context.Background()
	s := a.Load(ctx, req)
	f(s)
	h := http.Header{}
	if err := a.Commit(ctx, s, h); err != nil {
		t.Fatal(err)
	}
	a.Release(s)
	return h
}

// commitOther is request B setting "other" to 1.
func commitOther(t *testing.T, a core.Adapter, req http.Header) {
	t.Helper()
	otherRequest(t, a, req, func(s *core.Session) { s.Set("other", 1) })
}

// A value Get hands out by reference and the handler changes in place,
// without Set, is saved like a Set — also when a concurrent request of the
// session committed first, so that the commit rebases onto its record:
// every commit that succeeds applied the request's changes (SPEC §6).
func TestInPlaceChangeSurvivesMerge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		value  any
		change func(s *core.Session)
		want   any
	}{
		{"slice", []int{1, 2, 3}, func(s *core.Session) { l, _ := core.Get[[]int](s, "v"); l[0] = 99 }, []int{99, 2, 3}},
		{"map", map[string]any{"a": 1}, func(s *core.Session) { m, _ := core.Get[map[string]any](s, "v"); m["b"] = 2 }, map[string]any{"a": 1, "b": 2}},
		{"registered struct", inPlaceCart{Items: map[string]string{"a": "1"}}, func(s *core.Session) {
			c, _ := core.Get[inPlaceCart](s, "v")
			c.Items["a"] = "2"
		}, inPlaceCart{Items: map[string]string{"a": "2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			_, a, req := inPlaceManager(t, map[string]any{"v": tc.value, "other": 0})

			// Alone.
			s := a.Load(ctx, req)
			tc.change(s)
			if err := a.Commit(ctx, s, http.Header{}); err != nil {
				t.Fatal(err)
			}
			a.Release(s)
			if got := stored[any](t, a, req, "v"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("alone: %#v, want %#v", got, tc.want)
			}

			// Racing: B changes another key and commits while A works.
			_, a, req = inPlaceManager(t, map[string]any{"v": tc.value, "other": 0})
			sa := a.Load(ctx, req)
			tc.change(sa)
			commitOther(t, a, req)
			if err := a.Commit(ctx, sa, http.Header{}); err != nil {
				t.Fatalf("A's commit: %v (nothing of A's conflicts with B's)", err)
			}
			a.Release(sa)
			if got := stored[any](t, a, req, "v"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("racing: %#v, want %#v: A's commit succeeded without its change", got, tc.want)
			}
			if got := stored[int](t, a, req, "other"); got != 1 {
				t.Fatalf("racing: other = %d, want B's 1", got)
			}
		})
	}
}

// An in-place change of a key a concurrent request also changed is a
// conflict, as a Set of it would be: neither update is lost silently.
func TestInPlaceChangeConflicts(t *testing.T) {
	ctx := context.Background()
	_, a, req := inPlaceManager(t, map[string]any{"v": []int{1}})
	sa := a.Load(ctx, req)
	l, _ := core.Get[[]int](sa, "v")
	l[0]++
	otherRequest(t, a, req, func(s *core.Session) {
		lb, _ := core.Get[[]int](s, "v")
		lb[0]++
	})
	err := a.Commit(ctx, sa, http.Header{})
	a.Release(sa)
	if !errors.Is(err, core.ErrConflict) {
		t.Fatalf("A's commit: %v, want ErrConflict", err)
	}
	if got := stored[[]int](t, a, req, "v"); got[0] != 2 {
		t.Fatalf("v = %v, want B's [2]", got)
	}
}

// A reference handed out and left alone writes nothing: the commit finds
// the same bytes (lazy write) and the concurrent request's change stays.
func TestInPlaceUnchanged(t *testing.T) {
	ctx := context.Background()
	_, a, req := inPlaceManager(t, map[string]any{"v": []int{1}, "other": 0})
	sa := a.Load(ctx, req)
	if l, _ := core.Get[[]int](sa, "v"); l[0] != 1 {
		t.Fatal(l)
	}
	if c, ok := core.Get[inPlaceCart](sa, "missing"); ok {
		t.Fatal(c)
	}
	commitOther(t, a, req)
	if err := a.Commit(ctx, sa, http.Header{}); err != nil {
		t.Fatal(err)
	}
	a.Release(sa)
	if got := stored[int](t, a, req, "other"); got != 1 {
		t.Fatalf("other = %d, want B's 1", got)
	}
}

// A change made through a handed-out value after a first commit (the
// response's headers) is the next commit's, as a Set then would be; so is
// one made after a commit that rebased onto a concurrent request's record.
func TestInPlaceChangeAfterCommit(t *testing.T) {
	ctx := context.Background()
	for _, racing := range []bool{false, true} {
		_, a, req := inPlaceManager(t, map[string]any{"v": []int{1}, "w": []int{1}, "other": 0})
		s := a.Load(ctx, req)
		v, _ := core.Get[[]int](s, "v")
		w, _ := core.Get[[]int](s, "w")
		v[0] = 2
		if racing {
			commitOther(t, a, req)
		}
		if err := a.Commit(ctx, s, http.Header{}); err != nil {
			t.Fatal(err)
		}
		v[0], w[0] = 3, 3 // after the headers left
		if err := a.Commit(ctx, s, nil); err != nil {
			t.Fatal(err)
		}
		a.Release(s)
		if gv, gw := stored[[]int](t, a, req, "v"), stored[[]int](t, a, req, "w"); gv[0] != 3 || gw[0] != 3 {
			t.Fatalf("racing=%v: v=%v w=%v, want both [3]", racing, gv, gw)
		}
		if racing {
			if got := stored[int](t, a, req, "other"); got != 1 {
				t.Fatalf("other = %d, want B's 1", got)
			}
		}
	}
}
