package core

import (
	"bytes"
	"reflect"
	"sync"
	"time"
)

// A value Get hands out by reference — a map, a slice, a pointer, a struct
// holding one — may be changed in place by the handler, without Set, and
// such a change is saved as a Set of its key would be. handedValue tracks
// one such key: the value handed out and its encoding as last known to
// match the session (at hand-out, then after each commit that stored it).
// A commit tells what changed in place by comparing encodings, not with
// reflect.DeepEqual, which a NaN, a time's monotonic reading or a codec's
// own types (JSON's float64 for an int) would fool.
type handedValue struct {
	v     any
	enc   []byte       // v's encoding when it last matched the session; nil: unknown
	stale bool         // a concurrent request changed or removed the key under v
	prev  *handedValue // a stale value of the key handed out before this one
}

// hand starts tracking key, whose value v Get is about to hand out by
// reference; the caller holds s.mu. A key already tracked keeps its
// baseline: the handler may have changed the value since the first Get.
// One whose value went stale tracks v from now on and keeps the stale one
// too: a change through it is still a conflict.
func (s *Session) hand(key string, v any) {
	prev, ok := s.handed[key]
	if ok && !prev.stale {
		return
	}
	if s.handed == nil {
		s.handed = make(map[string]*handedValue, 2)
	}
	enc, _ := s.m.encodeOne(key, v)
	s.handed[key] = &handedValue{v: v, enc: enc, prev: prev}
}

// encodeOne is the codec's encoding of key holding v alone, for comparing
// one key's values; ok is false when v does not encode.
func (m *Manager) encodeOne(key string, v any) (enc []byte, ok bool) {
	enc, err := m.cfg.Codec.Encode(map[string]any{key: v})
	return enc, err == nil
}

// sameValue reports whether a and b, both under key, encode alike.
func (m *Manager) sameValue(key string, a, b any) bool {
	ea, ok := m.encodeOne(key, a)
	if !ok {
		return false
	}
	eb, ok := m.encodeOne(key, b)
	return ok && bytes.Equal(ea, eb)
}

// changedInPlace returns the tracked keys whose value the handler changed
// in place since it last matched the session, or ErrConflict when one of
// them is a value a concurrent request had replaced or removed meanwhile
// (its change would overwrite theirs unseen).
func (m *Manager) changedInPlace(s *Session) ([]string, error) {
	var keys []string
	for k, head := range s.handed {
		for h := head; h != nil; h = h.prev {
			enc, ok := m.encodeOne(k, h.v)
			if ok && h.enc != nil && bytes.Equal(enc, h.enc) {
				continue
			}
			if h.stale {
				return nil, errorf(ErrConflict, "key %q, changed in place, was changed by a concurrent request", k)
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// rebaseHanded keeps the handler's values attached to the merged values
// theirs: a tracked key that this request did not change and the
// concurrent request left alike keeps the handler's value, so a change
// through it after this commit is still the next commit's; one they
// changed or removed goes stale.
func (m *Manager) rebaseHanded(s *Session, theirs map[string]any, own map[string]struct{}) {
	for k, h := range s.handed {
		if _, mine := own[k]; mine || h.stale {
			continue
		}
		if tv, ok := theirs[k]; ok && h.enc != nil {
			if enc, ok := m.encodeOne(k, tv); ok && bytes.Equal(enc, h.enc) {
				theirs[k] = h.v
				continue
			}
		}
		h.stale = true
	}
}

// handedStored makes what a commit just stored the baseline of every
// tracked value still attached to the session.
func (m *Manager) handedStored(s *Session) {
	for k, h := range s.handed {
		if !h.stale {
			h.enc, _ = m.encodeOne(k, h.v)
		}
	}
}

// byValue reports whether v reaches Get's caller as a copy all the way
// down — nil, a bool, a number, a string, a time.Time, or an array or
// struct of those — so that no change made through it reaches the
// session's value. Anything else may be changed in place.
func byValue(v any) bool {
	if v == nil {
		return true
	}
	return byValueType(reflect.TypeOf(v))
}

var byValueTypes sync.Map // reflect.Type -> bool

var timeType = reflect.TypeFor[time.Time]()

func byValueType(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array, reflect.Struct:
	default:
		return false
	}
	if t == timeType {
		return true // its *Location is never changed through a Time
	}
	if known, ok := byValueTypes.Load(t); ok {
		return known.(bool)
	}
	ok := true
	if t.Kind() == reflect.Array {
		ok = byValueType(t.Elem())
	} else {
		for i := range t.NumField() {
			if !byValueType(t.Field(i).Type) {
				ok = false
				break
			}
		}
	}
	byValueTypes.Store(t, ok)
	return ok
}
