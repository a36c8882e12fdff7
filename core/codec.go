package core

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"
)

// Codec turns a session's values into bytes and back. Decode receives
// untrusted bytes (whatever the store returns) and must never panic: bad
// input is an error wrapping ErrCorrupt.
type Codec interface {
	Encode(values map[string]any) ([]byte, error)
	Decode(data []byte) (map[string]any, error)
}

// BinaryCodec is the default codec: a compact tagged binary format that
// keeps Go's built-in types exactly (int stays int, int64 stays int64,
// time.Time keeps its location offset, []byte stays []byte) and, unlike gob,
// needs no reflection for them. Other types must be registered with
// RegisterType; they travel as JSON under their registered name.
//
// Supported without registration: nil, bool, string, []byte, int, int8,
// int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32,
// float64, time.Time, time.Duration, []string, []int, []any,
// map[string]string, map[string]any (nested up to 32 levels).
type BinaryCodec struct{}

// JSONCodec stores values as a JSON object. Numbers come back as float64
// and []byte as base64 strings, as encoding/json does; use it when other
// programs must read the records.
type JSONCodec struct{}

var (
	_ Codec = BinaryCodec{}
	_ Codec = JSONCodec{}
)

// Encode implements Codec.
func (JSONCodec) Encode(values map[string]any) ([]byte, error) {
	b, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedType, err)
	}
	return b, nil
}

// Decode implements Codec.
func (JSONCodec) Decode(data []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// Type tags of the binary format. The numbers are part of the stored format:
// never renumber them.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagString
	tagBytes
	tagInt
	tagInt8
	tagInt16
	tagInt32
	tagInt64
	tagUint
	tagUint8
	tagUint16
	tagUint32
	tagUint64
	tagFloat32
	tagFloat64
	tagTime
	tagDuration
	tagStrings
	tagInts
	tagList
	tagMap
	tagStringMap
	tagRegistered
)

const maxNesting = 32

var registry struct {
	sync.RWMutex
	byName map[string]reflect.Type
	byType map[reflect.Type]string
}

// RegisterType lets BinaryCodec store values of type T (a struct, say). They
// are encoded with encoding/json under T's package path and name, and come
// back as T. Register every such type at init, in every program that reads
// the sessions.
func RegisterType[T any]() {
	t := reflect.TypeOf((*T)(nil)).Elem()
	name := t.PkgPath() + "." + t.Name()
	if t.Name() == "" {
		name = t.String()
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.byName == nil {
		registry.byName = map[string]reflect.Type{}
		registry.byType = map[reflect.Type]string{}
	}
	registry.byName[name] = t
	registry.byType[t] = name
}

// Encode implements Codec.
func (BinaryCodec) Encode(values map[string]any) ([]byte, error) {
	b := make([]byte, 0, 64)
	b, err := appendMap(b, values, 0)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// appendMap writes keys in sorted order so equal maps encode to equal bytes:
// lazy write compares encodings to decide whether anything changed.
func appendMap(b []byte, m map[string]any, depth int) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(m)))
	var err error
	for _, k := range sortedKeys(m) {
		b = appendString(b, k)
		if b, err = appendValue(b, m[k], depth); err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
	}
	return b, nil
}

func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 1 {
		for k := range m {
			return []string{k}
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrUnsupportedType, maxNesting)
	}
	switch x := v.(type) {
	case nil:
		return append(b, tagNil), nil
	case bool:
		if x {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case string:
		return appendString(append(b, tagString), x), nil
	case []byte:
		b = binary.AppendUvarint(append(b, tagBytes), uint64(len(x)))
		return append(b, x...), nil
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(x)), nil
	case int8:
		return binary.AppendVarint(append(b, tagInt8), int64(x)), nil
	case int16:
		return binary.AppendVarint(append(b, tagInt16), int64(x)), nil
	case int32:
		return binary.AppendVarint(append(b, tagInt32), int64(x)), nil
	case int64:
		return binary.AppendVarint(append(b, tagInt64), x), nil
	case uint:
		return binary.AppendUvarint(append(b, tagUint), uint64(x)), nil
	case uint8:
		return binary.AppendUvarint(append(b, tagUint8), uint64(x)), nil
	case uint16:
		return binary.AppendUvarint(append(b, tagUint16), uint64(x)), nil
	case uint32:
		return binary.AppendUvarint(append(b, tagUint32), uint64(x)), nil
	case uint64:
		return binary.AppendUvarint(append(b, tagUint64), x), nil
	case float32:
		return binary.LittleEndian.AppendUint32(append(b, tagFloat32), math.Float32bits(x)), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(x)), nil
	case time.Duration:
		return binary.AppendVarint(append(b, tagDuration), int64(x)), nil
	case time.Time:
		t, err := x.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsupportedType, err)
		}
		b = binary.AppendUvarint(append(b, tagTime), uint64(len(t)))
		return append(b, t...), nil
	case []string:
		b = binary.AppendUvarint(append(b, tagStrings), uint64(len(x)))
		for _, s := range x {
			b = appendString(b, s)
		}
		return b, nil
	case []int:
		b = binary.AppendUvarint(append(b, tagInts), uint64(len(x)))
		for _, n := range x {
			b = binary.AppendVarint(b, int64(n))
		}
		return b, nil
	case []any:
		b = binary.AppendUvarint(append(b, tagList), uint64(len(x)))
		var err error
		for _, e := range x {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]string:
		b = binary.AppendUvarint(append(b, tagStringMap), uint64(len(x)))
		for _, k := range sortedKeys(x) {
			b = appendString(appendString(b, k), x[k])
		}
		return b, nil
	case map[string]any:
		return appendMap(append(b, tagMap), x, depth+1)
	}
	registry.RLock()
	name, ok := registry.byType[reflect.TypeOf(v)]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %T (register it with core.RegisterType)", ErrUnsupportedType, v)
	}
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %T: %v", ErrUnsupportedType, v, err)
	}
	b = appendString(append(b, tagRegistered), name)
	b = binary.AppendUvarint(b, uint64(len(js)))
	return append(b, js...), nil
}

// decoder reads the binary format. Every length is checked against what is
// left of the input before anything is allocated, so hostile input can
// neither panic nor make it allocate more than a small multiple of its size.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad length")
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad integer")
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a collection length and checks that each element could take
// at least one byte of what remains.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("count %d exceeds input", n)
		d.b = nil
		return 0
	}
	return int(n)
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length %d exceeds input", n)
		d.b = nil
		return nil
	}
	r := d.b[:n:n]
	d.b = d.b[n:]
	return r
}

func (d *decoder) str() string { return string(d.raw()) }

func (d *decoder) fixed(n int) []byte {
	if len(d.b) < n {
		d.fail("truncated")
		d.b = nil
		return make([]byte, n)
	}
	r := d.b[:n]
	d.b = d.b[n:]
	return r
}

// Decode implements Codec.
func (BinaryCodec) Decode(data []byte) (map[string]any, error) {
	d := &decoder{b: data}
	n := d.count()
	m := make(map[string]any, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.str()
		m[k] = d.value(0)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

func (d *decoder) value(depth int) any {
	if depth > maxNesting {
		d.fail("nested deeper than %d", maxNesting)
		return nil
	}
	tag := d.fixed(1)[0]
	if d.err != nil {
		return nil
	}
	switch tag {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagString:
		return d.str()
	case tagBytes:
		return append([]byte{}, d.raw()...)
	case tagInt:
		return int(d.varint())
	case tagInt8:
		return int8(d.varint())
	case tagInt16:
		return int16(d.varint())
	case tagInt32:
		return int32(d.varint())
	case tagInt64:
		return d.varint()
	case tagUint:
		return uint(d.uvarint())
	case tagUint8:
		return uint8(d.uvarint())
	case tagUint16:
		return uint16(d.uvarint())
	case tagUint32:
		return uint32(d.uvarint())
	case tagUint64:
		return d.uvarint()
	case tagFloat32:
		return math.Float32frombits(binary.LittleEndian.Uint32(d.fixed(4)))
	case tagFloat64:
		return math.Float64frombits(binary.LittleEndian.Uint64(d.fixed(8)))
	case tagDuration:
		return time.Duration(d.varint())
	case tagTime:
		var t time.Time
		if err := t.UnmarshalBinary(d.raw()); err != nil {
			d.fail("time: %v", err)
		}
		return t
	case tagStrings:
		n := d.count()
		s := make([]string, n)
		for i := range s {
			s[i] = d.str()
		}
		return s
	case tagInts:
		n := d.count()
		s := make([]int, n)
		for i := range s {
			s[i] = int(d.varint())
		}
		return s
	case tagList:
		n := d.count()
		s := make([]any, n)
		for i := 0; i < n && d.err == nil; i++ {
			s[i] = d.value(depth + 1)
		}
		return s
	case tagStringMap:
		n := d.count()
		m := make(map[string]string, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			m[k] = d.str()
		}
		return m
	case tagMap:
		n := d.count()
		m := make(map[string]any, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			m[k] = d.value(depth + 1)
		}
		return m
	case tagRegistered:
		name := d.str()
		js := d.raw()
		if d.err != nil {
			return nil
		}
		registry.RLock()
		t, ok := registry.byName[name]
		registry.RUnlock()
		if !ok {
			d.fail("type %q is not registered", name)
			return nil
		}
		p := reflect.New(t)
		if err := json.Unmarshal(js, p.Interface()); err != nil {
			d.fail("%s: %v", name, err)
			return nil
		}
		return p.Elem().Interface()
	}
	d.fail("unknown tag %d", tag)
	return nil
}
