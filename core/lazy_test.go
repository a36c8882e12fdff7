package core

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzBinaryCodecLookup: check accepts exactly what Decode accepts, and for
// every key of an accepted record lookup finds what Decode's map holds
// (by reference for the kinds Get hands out by reference), and reports a
// missing key as missing.
func FuzzBinaryCodecLookup(f *testing.F) {
	seed, _ := BinaryCodec{}.Encode(map[string]any{"a": 1, "b": []any{"x", map[string]any{"c": 2.5}}, "s": "str", "t": time.Unix(7, 0).UTC(), "u": uint16(900)})
	f.Add(seed)
	stamped, _ := BinaryCodec{}.Encode(map[string]any{"p": lazyStamp{At: time.Unix(7, 0).UTC()}, "n": 1})
	f.Add(stamped)
	f.Add(badStamp(stamped))
	f.Add([]byte{2, 1, 'k', byte(tagTrue), 1, 'k', byte(tagFalse)}) // a repeated key: the last wins
	for _, h := range hostileRecords(1 << 10) {
		f.Add(h.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		values, derr := BinaryCodec{}.Decode(data)
		cerr := BinaryCodec{}.check(data)
		if (derr == nil) != (cerr == nil) {
			t.Fatalf("Decode: %v, check: %v", derr, cerr)
		}
		if derr != nil {
			return
		}
		for k, want := range values {
			got, found, byRef := BinaryCodec{}.lookup(data, k)
			if !found {
				t.Fatalf("key %q not found", k)
			}
			if byRef {
				switch reflect.ValueOf(want).Kind() {
				case reflect.Slice, reflect.Map, reflect.Struct, reflect.Pointer:
				default:
					t.Fatalf("key %q: a %T reported by reference", k, want)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) && !(reflect.TypeOf(got) == reflect.TypeOf(want) && isNaN(want)) {
				t.Fatalf("key %q: lookup %#v, Decode %#v", k, got, want)
			}
		}
		if _, found, _ := (BinaryCodec{}).lookup(data, "\xffno such key"); found != hasKey(values, "\xffno such key") {
			t.Fatal("a missing key was found")
		}
	})
}

// lazyStamp is a registered type with a part that has JSON methods of its
// own (time.Time), which can refuse JSON that jsonScan accepts.
type lazyStamp struct{ At time.Time }

func init() {
	if err := RegisterType[lazyStamp](); err != nil {
		panic(err)
	}
}

// badStamp turns the date of an encoded lazyStamp into month 13: well-formed
// JSON, the same length, refused by time.Time's UnmarshalJSON.
func badStamp(data []byte) []byte {
	return bytes.Replace(data, []byte("1970-01-01"), []byte("1970-13-01"), 1)
}

// TestCheckRegistered: check refuses a registered value that encoding/json
// refuses to unmarshal, as Decode does (found by a review: check only
// scanned the JSON, so such a record loaded and then failed every request
// that read the key, instead of being removed at load).
func TestCheckRegistered(t *testing.T) {
	good, err := BinaryCodec{}.Encode(map[string]any{"p": lazyStamp{At: time.Unix(7, 0).UTC()}, "n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := (BinaryCodec{}).check(good); err != nil {
		t.Fatalf("check refused a good record: %v", err)
	}
	bad := badStamp(good)
	if bytes.Equal(bad, good) {
		t.Fatal("no date to spoil")
	}
	_, derr := BinaryCodec{}.Decode(bad)
	if cerr := (BinaryCodec{}).check(bad); derr == nil || !errors.Is(cerr, ErrCorrupt) {
		t.Fatalf("Decode: %v, check: %v; want both to refuse", derr, cerr)
	}

	// Through a request: the record is found corrupt at load and removed,
	// and the request goes on with a new session.
	m := newTestManager(t)
	ctx := context.Background()
	id, cookie := storeValues(t, m, map[string]any{"p": lazyStamp{At: time.Unix(7, 0).UTC()}, "n": 1})
	data, _, err := m.store.Read(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.store.Write(ctx, id, badStamp(data), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s := m.sessionFor(ctx, cookie)
	if _, ok := s.Get("n"); ok || !s.IsNew() || s.Err() != nil {
		t.Fatalf("a corrupt record was loaded (err %v)", s.Err())
	}
	m.Adapter().Release(s)
	if _, found, _ := m.store.Read(ctx, id); found {
		t.Fatal("the corrupt record was not removed")
	}
}

// TestLazyManyKeys: a handler that reads many values gets the whole map
// decoded once after maxLookups single lookups, each of which walks the
// record (found by a review: 8000 keys read one by one took 190 times as
// long as before).
func TestLazyManyKeys(t *testing.T) {
	m := newTestManager(t)
	values := map[string]any{}
	for i := range 20 {
		values["k"+strings.Repeat("x", i)] = i
	}
	_, cookie := storeValues(t, m, values)
	s := m.sessionFor(context.Background(), cookie)
	defer m.Adapter().Release(s)
	for i := range 20 {
		if v, ok := Get[int](s, "k"+strings.Repeat("x", i)); !ok || v != i {
			t.Fatalf("key %d: %v %v", i, v, ok)
		}
		if lazy := i < maxLookups; s.lazy != lazy {
			t.Fatalf("after %d Gets lazy = %v, want %v", i+1, s.lazy, lazy)
		}
	}
}

func isNaN(v any) bool {
	switch f := v.(type) {
	case float64:
		return f != f
	case float32:
		return f != f
	}
	return false
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// TestLazyValues: a loaded session decodes no value until one is needed,
// Get of a scalar decodes that value alone, and every path that needs the
// whole map (a change, Keys, a value handed out by reference, Flashes with
// messages queued) sees exactly the stored values.
func TestLazyValues(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	stored := map[string]any{"n": 300, "s": "x", "l": []any{"a"}, "m": map[string]any{"k": 1}}
	_, cookie := storeValues(t, m, stored)

	load := func() *Session {
		s := m.sessionFor(ctx, cookie)
		if !s.Has("n") {
			t.Fatal("stored session not found")
		}
		if !s.lazy || s.values != nil {
			t.Fatalf("after a Get of a scalar: lazy=%v values=%v, want still encoded", s.lazy, s.values)
		}
		return s
	}

	s := load()
	if v, ok := Get[int](s, "n"); !ok || v != 300 {
		t.Fatalf("n = %v %v", v, ok)
	}
	if _, ok := s.Get("nope"); ok {
		t.Fatal("a missing key was found")
	}
	if msgs := s.Flashes(); msgs != nil || !s.lazy {
		t.Fatalf("Flashes on a session without messages: %v, lazy=%v", msgs, s.lazy)
	}
	if keys := s.Keys(); !slices.Equal(keys, []string{"l", "m", "n", "s"}) || s.lazy {
		t.Fatalf("Keys = %v (lazy=%v)", keys, s.lazy)
	}

	// A slice handed out by Get is the map's own: a change through it is
	// seen at commit.
	s = load()
	l, _ := Get[[]any](s, "l")
	if s.lazy || s.handed["l"] == nil {
		t.Fatalf("Get of a slice left lazy=%v, tracked=%v", s.lazy, s.handed["l"] != nil)
	}
	l[0] = "changed"
	commitOK(t, m, s)
	if got := loadValues(t, m, cookie); !reflect.DeepEqual(got["l"], []any{"changed"}) || got["n"] != 300 {
		t.Fatalf("after a change through Get's slice: %v", got)
	}

	// A change to one key keeps the others, which were never decoded.
	s = load()
	s.Set("s", "y")
	commitOK(t, m, s)
	want := map[string]any{"n": 300, "s": "y", "l": []any{"changed"}, "m": map[string]any{"k": 1}}
	if got := loadValues(t, m, cookie); !reflect.DeepEqual(got, want) {
		t.Fatalf("after Set: %v, want %v", got, want)
	}

	// Delete and Clear of a lazy session.
	s = load()
	s.Delete("m")
	commitOK(t, m, s)
	delete(want, "m")
	if got := loadValues(t, m, cookie); !reflect.DeepEqual(got, want) {
		t.Fatalf("after Delete: %v, want %v", got, want)
	}
	s = load()
	s.AddFlash("hi")
	commitOK(t, m, s)
	s = load()
	if msgs := s.Flashes(); !slices.Equal(msgs, []string{"hi"}) {
		t.Fatalf("Flashes = %v", msgs)
	}
	s.Clear()
	commitOK(t, m, s)
	if got := loadValues(t, m, cookie); len(got) != 0 {
		t.Fatalf("after Clear: %v", got)
	}
}

// TestLazyCorrupt: a record whose values do not decode is still found
// corrupt when it is loaded, not when (or whether) a value is read.
func TestLazyCorrupt(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	id, cookie := storeValues(t, m, map[string]any{"n": 1})
	data, _, err := m.store.Read(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)-2] = 0xee // the value's tag
	rec, err := decodeRecord(bad)
	if err != nil || !errors.Is(BinaryCodec{}.check(rec.payload), ErrCorrupt) {
		t.Fatalf("the record header must decode (%v) and check must fail", err)
	}
	if err := m.store.Write(ctx, id, bad, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s := m.sessionFor(ctx, cookie)
	if s.Has("other") || !s.IsNew() {
		t.Fatal("a record with a corrupt value was loaded")
	}
	if _, found, _ := m.store.Read(ctx, id); found {
		t.Fatal("the corrupt record was not removed")
	}
}

func newTestManager(t *testing.T) *Manager {
	m, err := New(nil, Config{Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// storeValues stores a new session holding values and returns its ID and
// the Cookie header that presents it.
func storeValues(t *testing.T, m *Manager, values map[string]any) (id, cookie string) {
	t.Helper()
	a := m.Adapter()
	s := a.Load(context.Background(), http.Header{})
	for k, v := range values {
		s.Set(k, v)
	}
	h := http.Header{}
	if err := a.Commit(context.Background(), s, h); err != nil {
		t.Fatal(err)
	}
	a.Release(s)
	cookie, _, _ = strings.Cut(h.Get("Set-Cookie"), ";")
	return s.ID(), cookie
}

// sessionFor starts a request that presents cookie; the test commits it
// (commitOK) or drops it.
func (m *Manager) sessionFor(ctx context.Context, cookie string) *Session {
	return m.Adapter().Load(ctx, http.Header{"Cookie": {cookie}})
}

func commitOK(t *testing.T, m *Manager, s *Session) {
	t.Helper()
	if err := m.Adapter().Commit(context.Background(), s, http.Header{}); err != nil {
		t.Fatal(err)
	}
	m.Adapter().Release(s)
}

// loadValues reads the values of the session cookie presents, decoded whole.
func loadValues(t *testing.T, m *Manager, cookie string) map[string]any {
	t.Helper()
	s := m.sessionFor(context.Background(), cookie)
	defer m.Adapter().Release(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ensure() || s.state != stateLoaded {
		t.Fatalf("session not loaded: %v", s.err)
	}
	return s.vals()
}
