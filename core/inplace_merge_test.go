package core_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// A NaN in the session, which no request touches, is not a change: keys
// are compared by their encodings (NaN != NaN to reflect.DeepEqual), so a
// request that handed out a map and changed another key merges.
func TestInPlaceNaNIsNoChange(t *testing.T) {
	ctx := context.Background()
	_, a, req := inPlaceManager(t, map[string]any{"m": map[string]any{"a": 1}, "score": math.NaN(), "other": 0})
	sa := a.Load(ctx, req)
	core.Get[map[string]any](sa, "m") // handed out, left alone
	sa.Set("x", 1)
	commitOther(t, a, req) // B changes "other"
	err := a.Commit(ctx, sa, http.Header{})
	a.Release(sa)
	if err != nil {
		t.Fatalf("A's commit: %v; A changed x only, B changed other only: want the merge to succeed", err)
	}
}

// A key holding nil that a concurrent request deleted stays deleted when a
// request that handed out another value merges onto its record.
func TestInPlaceKeepsTheirDelete(t *testing.T) {
	ctx := context.Background()
	_, a, req := inPlaceManager(t, map[string]any{"m": map[string]any{"a": 1}, "n": nil, "other": 0})
	sa := a.Load(ctx, req)
	core.Get[map[string]any](sa, "m")
	sa.Set("x", 1)

	otherRequest(t, a, req, func(s *core.Session) { s.Delete("n") })

	if err := a.Commit(ctx, sa, http.Header{}); err != nil {
		t.Fatal(err)
	}
	a.Release(sa)
	s := a.Load(ctx, req)
	defer a.Release(s)
	if s.Has("n") {
		t.Fatalf("n is back after B deleted it and A never touched it: keys %v", s.Keys())
	}
	if x, _ := core.Get[int](s, "x"); x != 1 {
		t.Fatalf("x = %v", x)
	}
}

// A value handed out, whose key a concurrent request replaced, is detached
// by the merge of A's first commit (A's own change was another key): A's
// change through it after that commit would overwrite B's value unseen,
// so it is refused (ErrConflict), never dropped silently.
func TestInPlaceDetachedValueConflicts(t *testing.T) {
	ctx := context.Background()
	_, a, req := inPlaceManager(t, map[string]any{"v": []int{1}, "other": 0})
	sa := a.Load(ctx, req)
	l, _ := core.Get[[]int](sa, "v")
	sa.Set("x", 1)

	otherRequest(t, a, req, func(s *core.Session) { s.Set("v", []int{5}) })

	if err := a.Commit(ctx, sa, http.Header{}); err != nil {
		t.Fatal(err) // merges: A changed x, B changed v
	}
	l[0] = 9 // after the headers left
	err := a.Commit(ctx, sa, nil)
	a.Release(sa)
	got := stored[[]int](t, a, req, "v")
	if err == nil && got[0] != 9 {
		t.Fatalf("second commit: nil error, v = %v: the in-place change [9] was silently dropped (want it saved or ErrConflict)", got)
	}
	if err != nil && !errors.Is(err, core.ErrConflict) {
		t.Fatal(err)
	}
}

// JSONCodec: a value Set before a first commit (an int) decodes from the
// record as another type (float64); once stored it is not A's change any
// more, so B's later change of that key does not make A's later change of
// another key a conflict.
func TestInPlaceJSONSetThenMerge(t *testing.T) {
	testSpuriousAfterCommit(t, core.JSONCodec{}, 5, 6)
}

// The same with BinaryCodec and time.Now(), whose monotonic reading is
// not stored.
func TestInPlaceTimeSetThenMerge(t *testing.T) {
	now := time.Now()
	testSpuriousAfterCommit(t, core.BinaryCodec{}, now, now.Add(time.Hour).Round(0))
}

func testSpuriousAfterCommit(t *testing.T, codec core.Codec, mine, theirs any) {
	ctx := context.Background()
	m, err := core.New(nil, core.Config{Cookie: core.CookieConfig{Insecure: true}, Logger: quiet, Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a, req := newSessionOf(t, m, map[string]any{"m": map[string]any{"a": "b"}, "t": "old"})

	sa := a.Load(ctx, req)
	core.Get[map[string]any](sa, "m")
	sa.Set("t", mine)
	if err := a.Commit(ctx, sa, http.Header{}); err != nil { // first commit: t saved
		t.Fatal(err)
	}
	// After A's first commit, B changes t; then A changes another key.
	otherRequest(t, a, req, func(s *core.Session) { s.Set("t", theirs) })
	sa.Set("x", "y")
	err = a.Commit(ctx, sa, nil)
	a.Release(sa)
	if err != nil {
		t.Fatalf("A's second commit changed x only since its first: %v", err)
	}
}

// Regenerate interleavings: A changes a list in place while B regenerates
// (A follows the move); A changes a list in place while B destroys (A gets
// ErrConflict); A regenerates and then changes in place after the headers.
func TestInPlaceRegenerateDestroy(t *testing.T) {
	ctx := context.Background()
	t.Run("B regenerates", func(t *testing.T) {
		_, a, req := inPlaceManager(t, map[string]any{"v": []int{1}})
		sa := a.Load(ctx, req)
		l, _ := core.Get[[]int](sa, "v")
		l[0] = 2
		h := otherRequest(t, a, req, func(s *core.Session) { s.Regenerate() })
		if err := a.Commit(ctx, sa, http.Header{}); err != nil {
			t.Fatal(err)
		}
		a.Release(sa)
		if got := stored[[]int](t, a, cookieHeader(t, h), "v"); got[0] != 2 {
			t.Fatalf("v = %v", got)
		}
	})
	t.Run("B destroys", func(t *testing.T) {
		_, a, req := inPlaceManager(t, map[string]any{"v": []int{1}})
		sa := a.Load(ctx, req)
		l, _ := core.Get[[]int](sa, "v")
		l[0] = 2
		otherRequest(t, a, req, func(s *core.Session) { s.Destroy() })
		err := a.Commit(ctx, sa, http.Header{})
		a.Release(sa)
		if !errors.Is(err, core.ErrConflict) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("A regenerates then changes", func(t *testing.T) {
		_, a, req := inPlaceManager(t, map[string]any{"v": []int{1}})
		sa := a.Load(ctx, req)
		l, _ := core.Get[[]int](sa, "v")
		sa.Regenerate()
		h := http.Header{}
		if err := a.Commit(ctx, sa, h); err != nil {
			t.Fatal(err)
		}
		l[0] = 3
		if err := a.Commit(ctx, sa, nil); err != nil {
			t.Fatal(err)
		}
		a.Release(sa)
		if got := stored[[]int](t, a, cookieHeader(t, h), "v"); got[0] != 3 {
			t.Fatalf("v = %v", got)
		}
	})
}

// After a merge detached a value (B replaced its key), a new Get of the
// key hands out B's value, tracked like any: a change through it is saved,
// while a change through the detached one is still a conflict.
func TestInPlaceValueAfterDetach(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		old  bool // change the detached value
		want []int
	}{
		{"new value", false, []int{6}},
		{"detached value", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, a, req := inPlaceManager(t, map[string]any{"v": []int{1}})
			sa := a.Load(ctx, req)
			old, _ := core.Get[[]int](sa, "v")
			sa.Set("x", 1)
			otherRequest(t, a, req, func(s *core.Session) { s.Set("v", []int{5}) })
			if err := a.Commit(ctx, sa, http.Header{}); err != nil {
				t.Fatal(err) // merged: A changed x, B changed v
			}
			cur, _ := core.Get[[]int](sa, "v")
			if cur[0] != 5 {
				t.Fatalf("Get after the merge: %v, want B's [5]", cur)
			}
			if tc.old {
				old[0] = 9
			} else {
				cur[0] = 6
			}
			err := a.Commit(ctx, sa, nil)
			a.Release(sa)
			if tc.want == nil {
				if !errors.Is(err, core.ErrConflict) {
					t.Fatalf("a change through the detached value: %v, want ErrConflict", err)
				}
				if got := stored[[]int](t, a, req, "v"); got[0] != 5 {
					t.Fatalf("v = %v, want B's [5]", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := stored[[]int](t, a, req, "v"); got[0] != tc.want[0] {
				t.Fatalf("v = %v, want %v", got, tc.want)
			}
		})
	}
}
