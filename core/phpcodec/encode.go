package phpcodec

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// maxDepth is PHP's default unserialize_max_depth: arrays (with at least one
// element) and objects nest at most this deep. Encode refuses deeper values,
// which PHP could not read back, and Decode refuses deeper data, as PHP does.
const maxDepth = 4096

// encoder writes PHP's serialize() grammar. n and seen are PHP's var_hash:
// n counts the values written so far (a back-reference names a value by
// that count), seen maps each *Ref and object pointer to the count at which
// it was first written.
type encoder struct {
	buf   []byte
	n     int
	seen  map[any]int
	depth int
}

// value writes one value, as a back-reference if it was written before.
func (e *encoder) value(v any) error {
	e.n++
	if r, ok := v.(*Ref); ok && r != nil {
		return e.ref(r)
	}
	if obj := objectPointer(v); obj != nil {
		if slot, ok := e.seen[obj]; ok {
			// An r: is a value of its own (a copy of the object handle):
			// it keeps its count.
			e.appendBackRef('r', slot)
			return nil
		}
		e.remember(obj)
	}
	return e.plain(v)
}

// ref writes a PHP reference: its value the first time, R: after that.
func (e *encoder) ref(r *Ref) error {
	if slot, ok := e.seen[r]; ok {
		// An R: is not a value of its own: it takes no count.
		e.n--
		e.appendBackRef('R', slot)
		return nil
	}
	if _, ok := r.Value.(*Ref); ok {
		return &encodeError{reason: "a *Ref holding a *Ref (PHP has no reference to a reference)"}
	}
	if obj := objectPointer(r.Value); obj != nil {
		if slot, ok := e.seen[obj]; ok {
			// The object was written before, outside this reference. PHP
			// writes R: to that earlier place, which makes it part of the
			// reference when read back; r: copies the object here instead
			// and makes this place the reference's home, so the values decode
			// as they are. (Values decoded from PHP's own output never come
			// here: in them the reference always holds the first place.)
			e.remember(r)
			e.appendBackRef('r', slot)
			return nil
		}
		e.remember(obj)
	}
	e.remember(r)
	return e.plain(r.Value)
}

func (e *encoder) remember(p any) {
	if e.seen == nil {
		e.seen = make(map[any]int)
	}
	e.seen[p] = e.n
}

// objectPointer returns v if it is a non-nil PHP object pointer, else nil.
func objectPointer(v any) any {
	switch p := v.(type) {
	case *Object:
		if p != nil {
			return p
		}
	case *CustomObject:
		if p != nil {
			return p
		}
	case *Enum:
		if p != nil {
			return p
		}
	}
	return nil
}

// plain writes v itself, without looking for an earlier occurrence.
func (e *encoder) plain(v any) error {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "N;"...)
	case bool:
		if v {
			e.buf = append(e.buf, "b:1;"...)
		} else {
			e.buf = append(e.buf, "b:0;"...)
		}
	case string:
		e.appendString(v)
	case []byte:
		e.appendString(string(v))
	case int:
		e.appendInt(int64(v))
	case int8:
		e.appendInt(int64(v))
	case int16:
		e.appendInt(int64(v))
	case int32:
		e.appendInt(int64(v))
	case int64:
		e.appendInt(v)
	case uint:
		return e.appendUint(uint64(v))
	case uint8:
		e.appendInt(int64(v))
	case uint16:
		e.appendInt(int64(v))
	case uint32:
		e.appendInt(int64(v))
	case uint64:
		return e.appendUint(v)
	case float32:
		e.appendFloat(float64(v))
	case float64:
		e.appendFloat(v)
	case []any:
		return e.list(len(v), func(i int) error { return e.value(v[i]) })
	case []string:
		return e.list(len(v), func(i int) error { e.n++; e.appendString(v[i]); return nil })
	case []int:
		return e.list(len(v), func(i int) error { e.n++; e.appendInt(int64(v[i])); return nil })
	case map[string]any:
		return e.stringMap(sortedKeys(v), func(k string) error { return e.value(v[k]) })
	case map[string]string:
		return e.stringMap(sortedKeys(v), func(k string) error { e.n++; e.appendString(v[k]); return nil })
	case *Array:
		if v == nil {
			e.buf = append(e.buf, "N;"...)
			return nil
		}
		return e.array(v.Entries)
	case Array:
		return e.array(v.Entries)
	case *Object:
		if v == nil {
			e.buf = append(e.buf, "N;"...)
			return nil
		}
		return e.object(v)
	case Object:
		return e.object(&v)
	case *CustomObject:
		if v == nil {
			e.buf = append(e.buf, "N;"...)
			return nil
		}
		return e.custom(v)
	case CustomObject:
		return e.custom(&v)
	case *Enum:
		if v == nil {
			e.buf = append(e.buf, "N;"...)
			return nil
		}
		return e.enum(v)
	case Enum:
		return e.enum(&v)
	case *Ref:
		// Only a nil *Ref gets here: value handles the others.
		e.buf = append(e.buf, "N;"...)
	case Ref:
		return &encodeError{reason: "a Ref value has no identity to share; use *Ref"}
	default:
		return &encodeError{reason: fmt.Sprintf("type %T has no PHP equivalent", v)}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// enter and leave count the nesting of arrays and objects.
func (e *encoder) enter() error {
	if e.depth >= maxDepth {
		return &encodeError{reason: fmt.Sprintf("arrays and objects nest deeper than %d levels (or contain themselves)", maxDepth)}
	}
	e.depth++
	return nil
}

func (e *encoder) leave() { e.depth-- }

// list writes a PHP list of n elements; elem writes element i.
func (e *encoder) list(n int, elem func(i int) error) error {
	e.appendHeader('a', n)
	if n > 0 {
		if err := e.enter(); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			e.appendInt(int64(i))
			if err := elem(i); err != nil {
				return prependPath(err, strconv.Itoa(i))
			}
		}
		e.leave()
	}
	e.buf = append(e.buf, '}')
	return nil
}

// stringMap writes a Go map as a PHP array in the order of keys.
func (e *encoder) stringMap(keys []string, elem func(k string) error) error {
	e.appendHeader('a', len(keys))
	if len(keys) > 0 {
		if err := e.enter(); err != nil {
			return err
		}
		for _, k := range keys {
			e.appendKey(k)
			if err := elem(k); err != nil {
				return prependPath(err, strconv.Quote(k))
			}
		}
		e.leave()
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encoder) array(entries []Entry) error {
	if err := checkKeys(entries); err != nil {
		return err
	}
	e.appendHeader('a', len(entries))
	if len(entries) > 0 {
		if err := e.enter(); err != nil {
			return err
		}
		for _, en := range entries {
			k, _ := normKey(en.Key)
			if k.isStr {
				e.appendString(k.s)
			} else {
				e.appendInt(k.i)
			}
			if err := e.value(en.Value); err != nil {
				return prependPath(err, keyPath(en.Key))
			}
		}
		e.leave()
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encoder) object(o *Object) error {
	if !validClassName(o.Class) {
		return &encodeError{reason: fmt.Sprintf("%q is not a class name PHP accepts", o.Class)}
	}
	if err := checkKeys(o.Props); err != nil {
		return err
	}
	e.buf = append(e.buf, "O:"...)
	e.buf = appendUint(e.buf, uint64(len(o.Class)))
	e.buf = append(e.buf, ":\""...)
	e.buf = append(e.buf, o.Class...)
	e.buf = append(e.buf, "\":"...)
	e.buf = appendUint(e.buf, uint64(len(o.Props)))
	e.buf = append(e.buf, ":{"...)
	if err := e.enter(); err != nil {
		return err
	}
	for _, p := range o.Props {
		// Property names are written as they are: unlike array keys, PHP
		// keeps a property called "5" a string.
		switch k := p.Key.(type) {
		case string:
			e.appendString(k)
		case int64:
			e.appendInt(k)
		case int:
			e.appendInt(int64(k))
		}
		if err := e.value(p.Value); err != nil {
			return prependPath(err, "->"+keyPath(p.Key))
		}
	}
	e.leave()
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encoder) custom(c *CustomObject) error {
	if !validClassName(c.Class) {
		return &encodeError{reason: fmt.Sprintf("%q is not a class name PHP accepts", c.Class)}
	}
	e.buf = append(e.buf, "C:"...)
	e.buf = appendUint(e.buf, uint64(len(c.Class)))
	e.buf = append(e.buf, ":\""...)
	e.buf = append(e.buf, c.Class...)
	e.buf = append(e.buf, "\":"...)
	e.buf = appendUint(e.buf, uint64(len(c.Data)))
	e.buf = append(e.buf, ":{"...)
	e.buf = append(e.buf, c.Data...)
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encoder) enum(en *Enum) error {
	if !validClassName(en.Class) || !validCaseName(en.Case) {
		return &encodeError{reason: fmt.Sprintf("%q and %q are not an enum and case name PHP accepts", en.Class, en.Case)}
	}
	e.buf = append(e.buf, "E:"...)
	e.buf = appendUint(e.buf, uint64(len(en.Class)+1+len(en.Case)))
	e.buf = append(e.buf, ":\""...)
	e.buf = append(e.buf, en.Class...)
	e.buf = append(e.buf, ':')
	e.buf = append(e.buf, en.Case...)
	e.buf = append(e.buf, "\";"...)
	return nil
}

// checkKeys rejects entries with a key PHP arrays cannot have, or with two
// keys PHP would see as one (5 and "5"): PHP would keep only the last.
func checkKeys(entries []Entry) error {
	var seen map[arrayKey]struct{}
	for i, en := range entries {
		k, ok := normKey(en.Key)
		if !ok {
			return &encodeError{reason: fmt.Sprintf("key of type %T (PHP keys are int64 or string)", en.Key)}
		}
		dup := false
		if len(entries) <= 16 {
			for _, prev := range entries[:i] {
				if pk, _ := normKey(prev.Key); pk == k {
					dup = true
					break
				}
			}
		} else {
			if seen == nil {
				seen = make(map[arrayKey]struct{}, len(entries))
			}
			_, dup = seen[k]
			seen[k] = struct{}{}
		}
		if dup {
			return &encodeError{reason: fmt.Sprintf("key %s appears twice (PHP would keep only the last)", keyPath(en.Key))}
		}
	}
	return nil
}

func (e *encoder) appendHeader(kind byte, n int) {
	e.buf = append(e.buf, kind, ':')
	e.buf = appendUint(e.buf, uint64(n))
	e.buf = append(e.buf, ":{"...)
}

func (e *encoder) appendBackRef(kind byte, slot int) {
	e.buf = append(e.buf, kind, ':')
	e.buf = appendUint(e.buf, uint64(slot))
	e.buf = append(e.buf, ';')
}

// appendKey writes a Go map key as PHP would store it: "5" as the integer 5.
func (e *encoder) appendKey(k string) {
	if i, ok := intKey(k); ok {
		e.appendInt(i)
	} else {
		e.appendString(k)
	}
}

func (e *encoder) appendString(s string) {
	e.buf = append(e.buf, "s:"...)
	e.buf = appendUint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, ":\""...)
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, "\";"...)
}

func (e *encoder) appendInt(i int64) {
	e.buf = append(e.buf, "i:"...)
	e.buf = strconv.AppendInt(e.buf, i, 10)
	e.buf = append(e.buf, ';')
}

func (e *encoder) appendUint(u uint64) error {
	if u > math.MaxInt64 {
		return &encodeError{reason: fmt.Sprintf("%d is above PHP's largest integer", u)}
	}
	e.appendInt(int64(u))
	return nil
}

func (e *encoder) appendFloat(f float64) {
	e.buf = append(e.buf, "d:"...)
	e.buf = appendFloat(e.buf, f)
	e.buf = append(e.buf, ';')
}

func appendUint(b []byte, u uint64) []byte { return strconv.AppendUint(b, u, 10) }

// appendFloat formats f as PHP 8 does in serialize() with the default
// serialize_precision = -1: the shortest digits that read back as f
// (zend_gcvt with zend_dtoa mode 0), in PHP's layout: plain decimal while
// the decimal point is at most 17 digits right or 3 zeros left of the
// digits, else d.dddE±x. An integral float has no ".0" (1.0 is "1").
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NAN"...)
	case math.IsInf(f, 1):
		return append(b, "INF"...)
	case math.IsInf(f, -1):
		return append(b, "-INF"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0"...)
		}
		return append(b, '0')
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// Shortest round-trip digits as d.ddde±x; take the digits and exponent
	// apart and lay them out again. decpt is where the decimal point goes,
	// counted from the left of the digits (value = 0.digits × 10^decpt).
	var tmp, dtmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	ePos := slices.Index(s, 'e')
	digits := append(dtmp[:0], s[0])
	if ePos > 1 {
		digits = append(digits, s[2:ePos]...)
	}
	exp := 0
	for _, c := range s[ePos+2:] {
		exp = exp*10 + int(c-'0')
	}
	if s[ePos+1] == '-' {
		exp = -exp
	}
	decpt := exp + 1
	switch {
	case decpt < -3 || decpt > 17:
		b = append(b, digits[0], '.')
		if len(digits) > 1 {
			b = append(b, digits[1:]...)
		} else {
			b = append(b, '0')
		}
		b = append(b, 'E')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		return strconv.AppendInt(b, int64(exp), 10)
	case decpt <= 0:
		b = append(b, "0."...)
		for i := decpt; i < 0; i++ {
			b = append(b, '0')
		}
		return append(b, digits...)
	default:
		if len(digits) <= decpt {
			b = append(b, digits...)
			for i := len(digits); i < decpt; i++ {
				b = append(b, '0')
			}
			return b
		}
		b = append(b, digits[:decpt]...)
		b = append(b, '.')
		return append(b, digits[decpt:]...)
	}
}

// encodeError is an ErrUnrepresentable with the place of the value in the
// session, e.g. $_SESSION["cart"][3]->"\x00*\x00items".
type encodeError struct {
	path   []string // outermost first
	reason string
}

func (e *encodeError) Error() string {
	var b strings.Builder
	b.WriteString(ErrUnrepresentable.Error())
	b.WriteString(": $_SESSION")
	for _, p := range e.path {
		if strings.HasPrefix(p, "->") {
			b.WriteString(p)
		} else {
			b.WriteString("[" + p + "]")
		}
	}
	b.WriteString(": ")
	b.WriteString(e.reason)
	return b.String()
}

func (e *encodeError) Unwrap() error { return ErrUnrepresentable }

// prependPath adds the key of an enclosing array or object to err's path.
func prependPath(err error, seg string) error {
	if ee, ok := err.(*encodeError); ok {
		ee.path = append([]string{seg}, ee.path...)
	}
	return err
}

// keyPath formats an array key or property name for an error message.
func keyPath(k any) string {
	if s, ok := k.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(k)
}
