package phpcodec_test

import (
	"fmt"
	"math"
	"strings"

	"github.com/sessionkit/sessionkit/core/phpcodec"
)

// diff returns "" when got and want are the same PHP value, else where they
// differ. Floats compare by their bits (-0 is not 0) except that every NaN
// is the same; *Ref and object pointers must be shared the same way on both
// sides (one pointer in got for each pointer in want), which also makes
// cycles through them terminate.
func diff(got, want any) string {
	c := comparer{gw: map[any]any{}, wg: map[any]any{}}
	return c.diff("$_SESSION", got, want)
}

type comparer struct {
	gw, wg map[any]any // pointer pairs seen so far, both ways
}

// pair records that got and want are the same shared value. It reports
// seen=true when the pair was recorded before, and ok=false when either
// side is already paired with something else.
func (c comparer) pair(got, want any) (seen, ok bool) {
	w, gSeen := c.gw[got]
	g, wSeen := c.wg[want]
	if gSeen || wSeen {
		return true, gSeen && wSeen && w == want && g == got
	}
	c.gw[got], c.wg[want] = want, got
	return false, true
}

func (c comparer) diff(path string, got, want any) string {
	if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
		return fmt.Sprintf("%s: got %T %s, want %T %s", path, got, short(got), want, short(want))
	}
	switch w := want.(type) {
	case nil, bool, int64, string:
		if got != want {
			return fmt.Sprintf("%s: got %#v, want %#v", path, got, want)
		}
	case float64:
		g := got.(float64)
		if math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
			return fmt.Sprintf("%s: got %v, want %v", path, g, w)
		}
	case []any:
		g := got.([]any)
		if len(g) != len(w) {
			return fmt.Sprintf("%s: got %d elements, want %d", path, len(g), len(w))
		}
		for i := range w {
			if d := c.diff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); d != "" {
				return d
			}
		}
	case *phpcodec.Array:
		return c.entries(path, got.(*phpcodec.Array).Entries, w.Entries, "[%#v]")
	case *phpcodec.Object:
		g := got.(*phpcodec.Object)
		if seen, ok := c.pair(g, w); !ok {
			return path + ": object shared differently"
		} else if seen {
			return ""
		}
		if g.Class != w.Class {
			return fmt.Sprintf("%s: class %q, want %q", path, g.Class, w.Class)
		}
		return c.entries(path, g.Props, w.Props, "->%#v")
	case *phpcodec.CustomObject, *phpcodec.Enum:
		if seen, ok := c.pair(got, want); !ok {
			return path + ": object shared differently"
		} else if seen {
			return ""
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Sprintf("%s: got %+v, want %+v", path, got, want)
		}
	case *phpcodec.Ref:
		g := got.(*phpcodec.Ref)
		if seen, ok := c.pair(g, w); !ok {
			return path + ": reference shared differently"
		} else if seen {
			return ""
		}
		return c.diff(path+"(&)", g.Value, w.Value)
	case map[string]any:
		g := got.(map[string]any)
		for k := range g {
			if _, ok := w[k]; !ok {
				return fmt.Sprintf("%s: unexpected key %q", path, k)
			}
		}
		for k := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s: missing key %q", path, k)
			}
			if d := c.diff(fmt.Sprintf("%s[%q]", path, k), gv, w[k]); d != "" {
				return d
			}
		}
	default:
		return fmt.Sprintf("%s: cannot compare %T", path, want)
	}
	return ""
}

func (c comparer) entries(path string, got, want []phpcodec.Entry, keyFormat string) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%s: got %d entries, want %d", path, len(got), len(want))
	}
	for i := range want {
		if got[i].Key != want[i].Key {
			return fmt.Sprintf("%s: entry %d has key %#v, want %#v", path, i, got[i].Key, want[i].Key)
		}
		if d := c.diff(path+fmt.Sprintf(keyFormat, want[i].Key), got[i].Value, want[i].Value); d != "" {
			return d
		}
	}
	return ""
}

func short(v any) string {
	s := fmt.Sprintf("%v", v)
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return strings.ReplaceAll(s, "\n", " ")
}
