package core

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
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
// time.Time keeps its instant and UTC offset, []byte stays []byte) and,
// unlike gob, needs no reflection for them. Other types must be registered
// with RegisterType; they travel as JSON under their registered name.
//
// Supported without registration: nil, bool, string, []byte, int, int8,
// int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32,
// float64, time.Time, time.Duration, []string, []int, []any,
// map[string]string, map[string]any (nested up to 32 levels).
//
// A time.Time comes back like time.Time.UnmarshalBinary makes it: the same
// instant and offset, in UTC, time.Local or an unnamed fixed zone, without
// a monotonic clock reading; compare times with Equal.
//
// With BinaryCodec (and without Config.PlainRecords) a Manager checks a
// loaded record whole but decodes its values lazily: Session.Get of a
// scalar decodes that one value; a change, Keys, the fifth single-value
// Get or a value handed out by reference decodes the whole map once.
//
// Decode allocates at most 4 times the size of its input, or 256 KiB for
// inputs under 64 KiB, so a hostile record cannot exhaust memory: it counts
// what each value will cost before allocating it (the MarshalJSON and
// MarshalText methods of registered types are counted at an estimate).
// Encode refuses with ErrTooLarge values that would cost more to decode
// (thousands of tiny elements, say), so whatever it writes can be read
// back.
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

// Limits on what decoding may cost. Encode applies the same ones, so every
// record it writes decodes; they may only ever grow, or stored records
// would stop decoding.
const (
	maxNesting  = 32
	allocFactor = 4
	allocFloor  = 256 << 10
)

// decodeBudget is how many bytes decoding n bytes may allocate.
func decodeBudget(n int) int64 { return max(allocFactor*int64(n), allocFloor) }

// The cost model: upper bounds of what the Go runtime (1.24 or later, 64-bit)
// allocates for each decoded value. Encode and Decode both add them up from
// the same numbers, so they agree on every record.
const (
	anySlot     = 16 // an element of []any, a value of map[string]any
	stringSlot  = 16 // a string header
	wordBox     = 8  // a number put in an any, unless it is below 256
	stringBox   = 16 // a non-empty string put in an any
	sliceBox    = 24 // a slice put in an any
	timeBox     = 24 // a time.Time put in an any
	zoneCost    = 192
	mapHeader   = 48
	tableHeader = 32
	mapGroup    = 8 + 8*32 // control word and 8 slots of string key and 16-byte value
	jsonFixed   = 320      // encoding/json's decodeState
	selfCost    = 256      // a MarshalJSON/MarshalText type's own decoding, besides twice its text
)

// heapSize bounds what the runtime allocates for an object of n bytes:
// size classes waste less than a quarter, large objects round up to pages.
func heapSize(n int64) int64 {
	switch {
	case n <= 0:
		return 0
	case n <= 16:
		return 16
	case n <= 128:
		return (n + 15) &^ 15
	case n <= 32<<10:
		return n + n/4
	default:
		return (n + 8191) &^ 8191
	}
}

// wordCost is what putting a number with these bits in an any allocates:
// the runtime keeps values below 256 preallocated.
func wordCost(bits uint64) int64 {
	if bits < 256 {
		return 0
	}
	return wordBox
}

func strCost(n int) int64 { return heapSize(int64(n)) }

// boxedStrCost is what a string put in an any costs.
func boxedStrCost(n int) int64 {
	if n == 0 {
		return 0
	}
	return stringBox + heapSize(int64(n))
}

// mapCost is what make(map[string]V, n) and n inserts allocate, V being
// string or any: a swiss map of 1024-slot tables.
func mapCost(n int64) int64 {
	switch {
	case n == 0:
		return mapHeader
	case n <= 8:
		return mapHeader + heapSize(mapGroup)
	}
	capacity := n * 8 / 7
	dir := pow2((capacity + 1023) / 1024)
	table := pow2(max(8, capacity/dir))
	return mapHeader + heapSize(8*dir) + dir*(heapSize(tableHeader)+heapSize(table/8*mapGroup))
}

func pow2(n int64) int64 {
	p := int64(1)
	for p < n {
		p <<= 1
	}
	return p
}

// timeCost is what decoding a time.Time in MarshalBinary form costs: a
// location of its own unless it is UTC or a whole-hour offset (the runtime
// shares those).
func timeCost(raw []byte) int64 {
	if len(raw) < 15 {
		return timeBox
	}
	offset := int(int16(binary.BigEndian.Uint16(raw[13:15]))) * 60
	if len(raw) > 15 {
		offset += int(raw[15])
	}
	if offset == -60 || offset%3600 == 0 && offset >= -12*3600 && offset <= 14*3600 {
		return timeBox
	}
	return timeBox + zoneCost
}

var registry struct {
	sync.RWMutex
	byName map[string]*registered
	byType map[reflect.Type]*registered
}

type registered struct {
	name  string
	t     reflect.Type
	j     *jsonType
	embed int // the longest chain of embedded structs in the type graph
}

// builtins are the types BinaryCodec stores without registration.
var builtins = map[reflect.Type]bool{}

func init() {
	for _, v := range []any{
		false, "", []byte(nil), 0, int8(0), int16(0), int32(0), int64(0), uint(0), uint8(0), uint16(0),
		uint32(0), uint64(0), float32(0), float64(0), time.Time{}, time.Duration(0), []string(nil),
		[]int(nil), []any(nil), map[string]string(nil), map[string]any(nil),
	} {
		builtins[reflect.TypeOf(v)] = true
	}
}

// RegisterType lets BinaryCodec store values of type T (a struct, say). They
// are encoded with encoding/json under T's package path and name, and come
// back as T, equal to what was stored (reflect.DeepEqual), with the
// time.Time caveats of BinaryCodec. Register every such type at init, in
// every program that reads the sessions. Registering a type twice, or one
// BinaryCodec stores without registration, does nothing.
//
// RegisterType refuses, with an error wrapping ErrUnsupportedType, a type
// that JSON would not bring back intact. Accepted, anywhere in T:
//   - bool, integers, floats and strings, and types defined on them;
//   - arrays and slices of accepted types;
//   - maps from string or integer kinds (without MarshalText or
//     UnmarshalText) to accepted types;
//   - structs whose fields are all exported and accepted, including those
//     promoted from embedded structs; json tags may rename fields or add
//     ",string", but not drop them ("-"), give two the same name (even
//     differing only in case), use the characters <, > or &, or mark a
//     slice or map omitempty (an empty one would come back nil);
//   - pointers to accepted types, except to pointers, slices and maps
//     (nil and a pointer to nil would both be stored as null);
//   - types with a MarshalJSON and a pointer UnmarshalJSON method, or a
//     MarshalText and a pointer UnmarshalText method (time.Time, say): they
//     answer for their own round trip.
//
// Refused: interfaces (an int in an any would come back float64), channels,
// funcs, complex numbers, unsafe pointers, unexported or "-" fields,
// embedded pointers, and types whose JSON methods come unpaired or from an
// embedded field. Recursive types are fine; values nest at most 32 deep.
// Encode also refuses a value holding a string that is not valid UTF-8,
// which JSON would change. Two types with one name (types declared inside
// functions, say) are refused with ErrConfig.
func RegisterType[T any]() error {
	t := reflect.TypeOf((*T)(nil)).Elem()
	if builtins[t] {
		return nil
	}
	name := t.PkgPath() + "." + t.Name()
	if t.Name() == "" {
		name = t.String()
	}
	registry.Lock()
	defer registry.Unlock()
	if r, ok := registry.byName[name]; ok {
		if r.t == t {
			return nil
		}
		return errorf(ErrConfig, "RegisterType: another type is registered as %q", name)
	}
	c := &typeCheck{seen: map[reflect.Type]*jsonType{}}
	j, err := c.check(t)
	if err != nil {
		return errorf(ErrUnsupportedType, "RegisterType[%s]: %v", t, err)
	}
	if registry.byName == nil {
		registry.byName = map[string]*registered{}
		registry.byType = map[reflect.Type]*registered{}
	}
	r := &registered{name: name, t: t, j: j, embed: c.embed}
	registry.byName[name] = r
	registry.byType[t] = r
	return nil
}

// jsonType is what the JSON scanner needs to know of a registered type: the
// JSON each part must be and what encoding/json allocates to decode it.
type jsonType struct {
	kind   jsonKind
	bits   int   // jInt, jUint, jFloat
	size   int64 // of the Go type
	elem   *jsonType
	length int   // jArray
	slot   int64 // jMap: the size of a key and a value in the map
	fields []jsonField
	byName map[string]int
}

type jsonKind uint8

const (
	jBool jsonKind = iota
	jInt
	jUint
	jFloat
	jString
	jBytes // a []byte-like slice: a base64 string
	jArray
	jSlice
	jMap // jString keys
	jIntMap
	jUintMap
	jStruct
	jPointer
	jSelf // MarshalJSON or MarshalText
)

type jsonField struct {
	name   []byte
	typ    *jsonType
	quoted bool // ",string"
}

var (
	jsonMarshaler   = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	textMarshaler   = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
	textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// typeCheck walks a type graph once per type, so recursive types end.
type typeCheck struct {
	seen  map[reflect.Type]*jsonType
	embed int
}

func (c *typeCheck) check(t reflect.Type) (*jsonType, error) {
	if j, ok := c.seen[t]; ok {
		return j, nil
	}
	j := &jsonType{size: int64(t.Size())}
	c.seen[t] = j
	var err error
	if t.Kind() == reflect.Pointer {
		switch t.Elem().Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			return nil, fmt.Errorf("%s: a nil pointer and a pointer to a nil %s would both be stored as null", t, t.Elem().Kind())
		}
		j.kind = jPointer
		j.elem, err = c.check(t.Elem())
		return j, err
	}
	if t.Kind() == reflect.Interface {
		return nil, fmt.Errorf("%s: values in interfaces come back as JSON makes them (an int as a float64)", t)
	}
	if self, err := selfMarshaling(t); self || err != nil {
		j.kind = jSelf
		return j, err
	}
	switch t.Kind() {
	case reflect.Bool:
		j.kind = jBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		j.kind, j.bits = jInt, t.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		j.kind, j.bits = jUint, t.Bits()
	case reflect.Float32, reflect.Float64:
		j.kind, j.bits = jFloat, t.Bits()
	case reflect.String:
		j.kind = jString
	case reflect.Array:
		j.kind, j.length = jArray, t.Len()
		j.elem, err = c.check(t.Elem())
	case reflect.Slice:
		j.kind = jSlice
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonMarshaler) && !reflect.PointerTo(t.Elem()).Implements(textMarshaler) {
			j.kind = jBytes
		}
		j.elem, err = c.check(t.Elem())
	case reflect.Map:
		k := t.Key()
		p := reflect.PointerTo(k)
		if p.Implements(textMarshaler) || p.Implements(textUnmarshaler) {
			return nil, fmt.Errorf("%s: map keys with MarshalText or UnmarshalText methods are not kept exactly", t)
		}
		switch k.Kind() {
		case reflect.String:
			j.kind = jMap
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			j.kind, j.bits = jIntMap, k.Bits()
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			j.kind, j.bits = jUintMap, k.Bits()
		default:
			return nil, fmt.Errorf("%s: map keys must be strings or integers", t)
		}
		// The runtime keeps values over 128 bytes out of the table.
		j.slot = int64(k.Size()) + 8
		if t.Elem().Size() <= 128 {
			j.slot = int64(k.Size()) + int64(t.Elem().Size())
		}
		j.slot = (j.slot + 7) &^ 7
		j.elem, err = c.check(t.Elem())
	case reflect.Struct:
		j.kind = jStruct
		j.byName = map[string]int{}
		err = c.fields(t, j, 0)
	default:
		return nil, fmt.Errorf("%s: %s values cannot be stored", t, t.Kind())
	}
	if err != nil {
		return nil, err
	}
	return j, nil
}

// selfMarshaling reports whether t encodes itself, and refuses methods that
// encoding/json would not use symmetrically.
func selfMarshaling(t reflect.Type) (bool, error) {
	p := reflect.PointerTo(t)
	mj, mt := t.Implements(jsonMarshaler), t.Implements(textMarshaler)
	pmj, pmt := p.Implements(jsonMarshaler), p.Implements(textMarshaler)
	uj, ut := p.Implements(jsonUnmarshaler), p.Implements(textUnmarshaler)
	switch {
	case !pmj && !pmt && !uj && !ut:
		return false, nil
	case !(mj && uj) && !(mt && ut && !pmj && !uj):
		return false, fmt.Errorf("%s: its JSON methods are not a MarshalJSON and a pointer UnmarshalJSON, nor a MarshalText and a pointer UnmarshalText", t)
	}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous && (reflect.PointerTo(f.Type).Implements(jsonMarshaler) || reflect.PointerTo(f.Type).Implements(textMarshaler)) {
				return false, fmt.Errorf("%s: embeds %s, whose JSON methods would stand for the whole struct", t, f.Type)
			}
		}
	}
	return true, nil
}

// fields collects t's fields as encoding/json sees them, embedded structs'
// promoted.
func (c *typeCheck) fields(t reflect.Type, j *jsonType, embed int) error {
	c.embed = max(c.embed, embed)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			return fmt.Errorf("%s: field %s is tagged json:\"-\" and would not be stored", t, f.Name)
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTagName(name) {
			name = ""
		}
		if f.Anonymous && name == "" {
			switch {
			case f.Type.Kind() == reflect.Pointer:
				return fmt.Errorf("%s: embedded %s: a nil pointer and one to an empty struct are stored alike", t, f.Type)
			case f.Type.Kind() == reflect.Struct:
				if err := c.fields(f.Type, j, embed+1); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			return fmt.Errorf("%s: field %s is unexported and would come back empty", t, f.Name)
		}
		if name == "" {
			name = f.Name
		}
		if strings.ContainsAny(name, "<>&") {
			return fmt.Errorf("%s: field name %q: <, > and & are escaped in JSON", t, name)
		}
		for _, g := range j.fields {
			if strings.EqualFold(string(g.name), name) {
				return fmt.Errorf("%s: fields named %q and %q would mix up in JSON", t, g.name, name)
			}
		}
		ft := f.Type
		if ft.Name() == "" && ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "omitempty":
				if k := f.Type.Kind(); k == reflect.Slice || k == reflect.Map {
					return fmt.Errorf("%s: field %s is omitempty: an empty %s would come back nil", t, f.Name, k)
				}
			case "omitzero":
				if _, ok := f.Type.MethodByName("IsZero"); ok {
					return fmt.Errorf("%s: field %s is omitzero and %s has an IsZero method", t, f.Name, f.Type)
				}
			}
		}
		typ, err := c.check(f.Type)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
		quoted := false
		if slices.Contains(strings.Split(opts, ","), "string") {
			switch ft.Kind() {
			case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
				reflect.Float32, reflect.Float64, reflect.String:
				quoted = true
			}
		}
		j.byName[name] = len(j.fields)
		j.fields = append(j.fields, jsonField{name: []byte(name), typ: typ, quoted: quoted})
	}
	return nil
}

// validTagName is encoding/json's rule for a usable name in a json tag.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// Encode implements Codec.
func (BinaryCodec) Encode(values map[string]any) ([]byte, error) {
	b, _, err := encodeValues(values)
	return b, err
}

// encodeValues encodes values and returns what decoding them will cost.
func encodeValues(values map[string]any) ([]byte, int64, error) {
	b, cost, err := appendMap(make([]byte, 0, 64), values, 0)
	if err != nil {
		return nil, 0, err
	}
	if budget := decodeBudget(len(b)); cost > budget {
		return nil, 0, errorf(ErrTooLarge, "%d bytes of values would take %d bytes to decode, more than the %d the decoder allows (many tiny values?)", len(b), cost, budget)
	}
	return b, cost, nil
}

// The append functions return b with v appended and what decoding v will
// allocate.

// appendMap writes keys in sorted order so equal maps encode to equal bytes:
// lazy write compares encodings to decide whether anything changed.
func appendMap(b []byte, m map[string]any, depth int) ([]byte, int64, error) {
	b = binary.AppendUvarint(b, uint64(len(m)))
	cost := mapCost(int64(len(m)))
	var small [8]string // the keys of a typical session, without an allocation
	for _, k := range sortedKeys(small[:0], m) {
		b = appendString(b, k)
		var c int64
		var err error
		if b, c, err = appendValue(b, m[k], depth); err != nil {
			return nil, 0, fmt.Errorf("key %q: %w", k, err)
		}
		cost += strCost(len(k)) + c
	}
	return b, cost, nil
}

// sortedKeys appends m's keys to keys, sorted.
func sortedKeys[V any](keys []string, m map[string]V) []string {
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

func appendValue(b []byte, v any, depth int) ([]byte, int64, error) {
	if depth > maxNesting {
		return nil, 0, fmt.Errorf("%w: nested deeper than %d", ErrUnsupportedType, maxNesting)
	}
	var cost int64
	switch x := v.(type) {
	case nil:
		b = append(b, tagNil)
	case bool:
		if x {
			b = append(b, tagTrue)
		} else {
			b = append(b, tagFalse)
		}
	case string:
		b = append(b, tagString)
		b = appendString(b, x)
		cost += boxedStrCost(len(x))
	case []byte:
		b = binary.AppendUvarint(append(b, tagBytes), uint64(len(x)))
		b = append(b, x...)
		cost += sliceBox + heapSize(int64(len(x)))
	case int:
		b = binary.AppendVarint(append(b, tagInt), int64(x))
		cost += wordCost(uint64(x))
	case int8:
		b = binary.AppendVarint(append(b, tagInt8), int64(x))
	case int16:
		b = binary.AppendVarint(append(b, tagInt16), int64(x))
		cost += wordCost(uint64(uint16(x)))
	case int32:
		b = binary.AppendVarint(append(b, tagInt32), int64(x))
		cost += wordCost(uint64(uint32(x)))
	case int64:
		b = binary.AppendVarint(append(b, tagInt64), x)
		cost += wordCost(uint64(x))
	case uint:
		b = binary.AppendUvarint(append(b, tagUint), uint64(x))
		cost += wordCost(uint64(x))
	case uint8:
		b = binary.AppendUvarint(append(b, tagUint8), uint64(x))
	case uint16:
		b = binary.AppendUvarint(append(b, tagUint16), uint64(x))
		cost += wordCost(uint64(x))
	case uint32:
		b = binary.AppendUvarint(append(b, tagUint32), uint64(x))
		cost += wordCost(uint64(x))
	case uint64:
		b = binary.AppendUvarint(append(b, tagUint64), x)
		cost += wordCost(x)
	case float32:
		b = binary.LittleEndian.AppendUint32(append(b, tagFloat32), math.Float32bits(x))
		cost += wordCost(uint64(math.Float32bits(x)))
	case float64:
		b = binary.LittleEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(x))
		cost += wordCost(math.Float64bits(x))
	case time.Duration:
		b = binary.AppendVarint(append(b, tagDuration), int64(x))
		cost += wordCost(uint64(x))
	case time.Time:
		t, err := x.MarshalBinary()
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrUnsupportedType, err)
		}
		b = binary.AppendUvarint(append(b, tagTime), uint64(len(t)))
		b = append(b, t...)
		cost += timeCost(t)
	case []string:
		b = binary.AppendUvarint(append(b, tagStrings), uint64(len(x)))
		cost += sliceBox + heapSize(stringSlot*int64(len(x)))
		for _, s := range x {
			b = appendString(b, s)
			cost += strCost(len(s))
		}
	case []int:
		b = binary.AppendUvarint(append(b, tagInts), uint64(len(x)))
		cost += sliceBox + heapSize(8*int64(len(x)))
		for _, n := range x {
			b = binary.AppendVarint(b, int64(n))
		}
	case []any:
		b = binary.AppendUvarint(append(b, tagList), uint64(len(x)))
		cost += sliceBox + heapSize(anySlot*int64(len(x)))
		for _, v := range x {
			var c int64
			var err error
			if b, c, err = appendValue(b, v, depth+1); err != nil {
				return nil, 0, err
			}
			cost += c
		}
	case map[string]string:
		b = binary.AppendUvarint(append(b, tagStringMap), uint64(len(x)))
		cost += mapCost(int64(len(x)))
		var small [8]string
		for _, k := range sortedKeys(small[:0], x) {
			b = appendString(b, k)
			b = appendString(b, x[k])
			cost += strCost(len(k)) + strCost(len(x[k]))
		}
	case map[string]any:
		return appendMap(append(b, tagMap), x, depth+1)
	default:
		return appendRegistered(b, v)
	}
	return b, cost, nil
}

func appendRegistered(b []byte, v any) ([]byte, int64, error) {
	registry.RLock()
	r, ok := registry.byType[reflect.TypeOf(v)]
	registry.RUnlock()
	if !ok {
		return nil, 0, fmt.Errorf("%w: %T (register it with core.RegisterType)", ErrUnsupportedType, v)
	}
	js, err := json.Marshal(v)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %T: %v", ErrUnsupportedType, v, err)
	}
	s := jsonScan{b: js, trusted: true}
	cost := s.root(r)
	switch {
	case s.err != nil:
		return nil, 0, fmt.Errorf("%w: %T: its JSON does not match its type: %v", ErrUnsupportedType, v, s.err)
	case s.lossy:
		return nil, 0, fmt.Errorf("%w: %T: holds a string that is not valid UTF-8, which JSON would change", ErrUnsupportedType, v)
	}
	b = append(b, tagRegistered)
	b = appendString(b, r.name)
	b = binary.AppendUvarint(b, uint64(len(js)))
	b = append(b, js...)
	return b, cost, nil
}

// decoder reads the binary format. Every length is checked against what is
// left of the input, and every allocation against what is left of the
// budget, before anything is allocated.
type decoder struct {
	b      []byte
	left   int64 // of the allocation budget
	budget int64
	err    error
	// skip checks and charges every value as decoding it would, but
	// builds nothing: value returns nil and nothing is allocated (check,
	// lookup).
	skip bool
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	d.b = nil
}

// charge takes n bytes from the budget; false means stop.
func (d *decoder) charge(n int64) bool {
	if d.err != nil {
		return false
	}
	if n > d.left {
		d.fail("decoding would allocate more than %d bytes", d.budget)
		return false
	}
	d.left -= n
	return true
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad length")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a collection length and checks that each element could take
// at least size bytes of what remains.
func (d *decoder) count(size int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/size) {
		d.fail("count %d exceeds input", n)
		return 0
	}
	return int(n)
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length %d exceeds input", n)
		return nil
	}
	r := d.b[:n:n]
	d.b = d.b[n:]
	return r
}

// str reads a string that is not put in an any (a key, an element).
func (d *decoder) str() string {
	r := d.raw()
	if !d.charge(strCost(len(r))) || d.skip {
		return ""
	}
	return string(r)
}

func (d *decoder) fixed(n int) []byte {
	if len(d.b) < n {
		d.fail("truncated")
		return nil
	}
	r := d.b[:n]
	d.b = d.b[n:]
	return r
}

// Decode implements Codec.
func (BinaryCodec) Decode(data []byte) (map[string]any, error) {
	budget := decodeBudget(len(data))
	d := &decoder{b: data, left: budget, budget: budget}
	m := d.stringMap(0)
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

// check reports whether Decode would accept data, without building or
// allocating anything (a load that may need no value at all).
func (BinaryCodec) check(data []byte) error {
	budget := decodeBudget(len(data))
	d := decoder{b: data, left: budget, budget: budget, skip: true}
	d.stringMap(0)
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}

// lookup decodes the value under key alone from data, which check
// accepted, as Decode would give it (the last of duplicate keys wins, as in
// Decode's map). byRef reports a value of a kind Get hands out by
// reference (slice, map, registered type): the caller decodes the whole map
// instead, so that changes made through it are seen at commit.
func (BinaryCodec) lookup(data []byte, key string) (v any, found, byRef bool) {
	budget := decodeBudget(len(data))
	d := decoder{b: data, left: budget, budget: budget, skip: true}
	n := d.count(2)
	var at []byte // the last value under key
	for i := 0; i < n && d.err == nil; i++ {
		k := d.raw()
		if string(k) == key {
			at = d.b
		}
		d.value(0)
	}
	if at == nil || d.err != nil {
		return nil, false, false
	}
	switch at[0] {
	case tagBytes, tagStrings, tagInts, tagList, tagStringMap, tagMap, tagRegistered:
		return nil, true, true
	}
	d = decoder{b: at, left: budget, budget: budget}
	v = d.value(0)
	return v, d.err == nil, false
}

func (d *decoder) stringMap(depth int) map[string]any {
	n := d.count(2)
	if !d.charge(mapCost(int64(n))) {
		return nil
	}
	if d.skip {
		for i := 0; i < n && d.err == nil; i++ {
			d.str()
			d.value(depth)
		}
		return nil
	}
	m := make(map[string]any, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.str()
		m[k] = d.value(depth)
	}
	return m
}

func (d *decoder) value(depth int) any {
	if depth > maxNesting {
		d.fail("nested deeper than %d", maxNesting)
		return nil
	}
	tag := d.fixed(1)
	if d.err != nil {
		return nil
	}
	switch tag[0] {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagString:
		r := d.raw()
		if !d.charge(boxedStrCost(len(r))) || d.skip {
			return nil
		}
		return string(r)
	case tagBytes:
		r := d.raw()
		if !d.charge(sliceBox+heapSize(int64(len(r)))) || d.skip {
			return nil
		}
		return append([]byte{}, r...)
	case tagInt:
		v := int(d.varint())
		d.charge(wordCost(uint64(v)))
		if d.skip {
			return nil
		}
		return v
	case tagInt8:
		v := int8(d.varint())
		if d.skip {
			return nil
		}
		return v
	case tagInt16:
		v := int16(d.varint())
		d.charge(wordCost(uint64(uint16(v))))
		if d.skip {
			return nil
		}
		return v
	case tagInt32:
		v := int32(d.varint())
		d.charge(wordCost(uint64(uint32(v))))
		if d.skip {
			return nil
		}
		return v
	case tagInt64:
		v := d.varint()
		d.charge(wordCost(uint64(v)))
		if d.skip {
			return nil
		}
		return v
	case tagUint:
		v := uint(d.uvarint())
		d.charge(wordCost(uint64(v)))
		if d.skip {
			return nil
		}
		return v
	case tagUint8:
		v := uint8(d.uvarint())
		if d.skip {
			return nil
		}
		return v
	case tagUint16:
		v := uint16(d.uvarint())
		d.charge(wordCost(uint64(v)))
		if d.skip {
			return nil
		}
		return v
	case tagUint32:
		v := uint32(d.uvarint())
		d.charge(wordCost(uint64(v)))
		if d.skip {
			return nil
		}
		return v
	case tagUint64:
		v := d.uvarint()
		d.charge(wordCost(v))
		if d.skip {
			return nil
		}
		return v
	case tagFloat32:
		f := d.fixed(4)
		if d.err != nil {
			return nil
		}
		v := binary.LittleEndian.Uint32(f)
		d.charge(wordCost(uint64(v)))
		if d.skip {
			return nil
		}
		return math.Float32frombits(v)
	case tagFloat64:
		f := d.fixed(8)
		if d.err != nil {
			return nil
		}
		v := binary.LittleEndian.Uint64(f)
		d.charge(wordCost(v))
		if d.skip {
			return nil
		}
		return math.Float64frombits(v)
	case tagDuration:
		v := d.varint()
		d.charge(wordCost(uint64(v)))
		if d.skip {
			return nil
		}
		return time.Duration(v)
	case tagTime:
		r := d.raw()
		if !d.charge(timeCost(r)) {
			return nil
		}
		var t time.Time
		if err := t.UnmarshalBinary(r); err != nil {
			d.fail("time: %v", err)
			return nil
		}
		if d.skip {
			return nil
		}
		return t
	case tagStrings:
		n := d.count(1)
		if !d.charge(sliceBox + heapSize(stringSlot*int64(n))) {
			return nil
		}
		if d.skip {
			for i := 0; i < n && d.err == nil; i++ {
				d.str()
			}
			return nil
		}
		s := make([]string, n)
		for i := 0; i < n && d.err == nil; i++ {
			s[i] = d.str()
		}
		return s
	case tagInts:
		n := d.count(1)
		if !d.charge(sliceBox + heapSize(8*int64(n))) {
			return nil
		}
		if d.skip {
			for range n {
				d.varint()
			}
			return nil
		}
		s := make([]int, n)
		for i := range s {
			s[i] = int(d.varint())
		}
		return s
	case tagList:
		n := d.count(1)
		if !d.charge(sliceBox + heapSize(anySlot*int64(n))) {
			return nil
		}
		if d.skip {
			for i := 0; i < n && d.err == nil; i++ {
				d.value(depth + 1)
			}
			return nil
		}
		s := make([]any, n)
		for i := 0; i < n && d.err == nil; i++ {
			s[i] = d.value(depth + 1)
		}
		return s
	case tagStringMap:
		n := d.count(2)
		if !d.charge(mapCost(int64(n))) {
			return nil
		}
		if d.skip {
			for i := 0; i < 2*n && d.err == nil; i++ {
				d.str()
			}
			return nil
		}
		m := make(map[string]string, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			m[k] = d.str()
		}
		return m
	case tagMap:
		return d.stringMap(depth + 1)
	case tagRegistered:
		return d.registered()
	}
	d.fail("unknown tag %d", tag[0])
	return nil
}

func (d *decoder) registered() any {
	name := d.raw()
	js := d.raw()
	if d.err != nil {
		return nil
	}
	registry.RLock()
	r, ok := registry.byName[string(name)]
	registry.RUnlock()
	if !ok {
		d.fail("type %q is not registered", name)
		return nil
	}
	s := jsonScan{b: js}
	cost := s.root(r)
	if s.err != nil {
		d.fail("%s: %v", r.name, s.err)
		return nil
	}
	if !d.charge(cost) {
		return nil
	}
	// Also when skipping: a part with JSON methods of its own (a time.Time
	// field, say) can reject what jsonScan accepted, and check must refuse
	// exactly what Decode refuses.
	p := reflect.New(r.t)
	if err := json.Unmarshal(js, p.Interface()); err != nil {
		d.fail("%s: %v", r.name, err)
		return nil
	}
	if d.skip {
		return nil
	}
	return p.Elem().Interface()
}

// jsonScan reads the JSON of a registered type without allocating: it
// checks that the JSON fits the type, so encoding/json will not fail half
// way (its errors allocate), and adds up what encoding/json will allocate
// to decode it.
type jsonScan struct {
	b        []byte
	cost     int64
	depth    int
	maxDepth int
	structs  int
	lossy    bool // a \ufffd escape: encoding/json replaced invalid UTF-8
	trusted  bool // encoding/json wrote the JSON: its numbers fit their types
	err      error
}

func (s *jsonScan) fail(msg string) {
	if s.err == nil {
		s.err = errors.New(msg)
	}
	s.b = nil
}

// root scans the JSON of one value of r and returns its decoding cost:
// reflect.New and the copy into an any, encoding/json's state, its parser
// stack and error context, and the value itself.
func (s *jsonScan) root(r *registered) int64 {
	s.value(r.j)
	s.space()
	if s.err == nil && len(s.b) != 0 {
		s.fail("trailing data")
	}
	cost := 2*heapSize(int64(r.t.Size())) + jsonFixed + 2*heapSize(8*pow2(int64(s.maxDepth))) + s.cost
	if s.structs > 0 {
		cost += heapSize(48) + 2*heapSize(stringSlot*pow2(int64(s.maxDepth*(1+r.embed))))
	}
	return cost
}

func (s *jsonScan) space() {
	b := s.b
	for len(b) > 0 && b[0] <= ' ' && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	s.b = b
}

// peek returns the next byte that is not space; 0 at the end (a failure).
func (s *jsonScan) peek() byte {
	if len(s.b) > 0 && s.b[0] > ' ' {
		return s.b[0]
	}
	return s.peekAfterSpace()
}

func (s *jsonScan) peekAfterSpace() byte {
	s.space()
	if len(s.b) == 0 {
		s.fail("unexpected end of JSON")
		return 0
	}
	return s.b[0]
}

func (s *jsonScan) expect(c byte) bool {
	if s.peek() != c {
		s.fail("unexpected character")
		return false
	}
	s.b = s.b[1:]
	return true
}

// literalByte marks the bytes of numbers, true, false and null.
var literalByte = func() (t [256]bool) {
	for _, c := range []byte("+-.0123456789Eaeflnrstu") {
		t[c] = true
	}
	return t
}()

// literal scans a number, true, false or null.
func (s *jsonScan) literal() []byte {
	s.space()
	i := 0
	for i < len(s.b) && literalByte[s.b[i]] {
		i++
	}
	if i == 0 {
		s.fail("want a literal")
		return nil
	}
	l := s.b[:i]
	s.b = s.b[i:]
	return l
}

// str scans a string and returns its length between the quotes and whether
// it has escapes (encoding/json then copies it once more).
func (s *jsonScan) str() (n int, esc bool) {
	if !s.expect('"') {
		return 0, false
	}
	b := s.b
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c >= 0x20 && c != '"' && c != '\\':
			i++
		case c == '"':
			s.b = b[i+1:]
			return i, esc
		case c == '\\':
			esc = true
			if bytes.HasPrefix(b[i:], []byte(`\ufffd`)) {
				s.lossy = true
			}
			if i+1 < len(b) && b[i+1] == 'u' {
				i += 6
			} else {
				i += 2
			}
		default:
			s.fail("control character in string")
			return 0, false
		}
	}
	s.fail("unterminated string")
	return 0, false
}

// unquoteCost is what encoding/json allocates to decode a string of n bytes
// between quotes: a buffer if it has escapes, and the string.
func unquoteCost(n int, esc bool) int64 {
	c := strCost(n)
	if esc {
		c += heapSize(int64(n) + 8)
	}
	return c
}

func (s *jsonScan) open(c byte) bool {
	if !s.expect(c) {
		return false
	}
	s.depth++
	s.maxDepth = max(s.maxDepth, s.depth)
	if s.depth > maxNesting {
		s.fail("nested deeper than 32")
		return false
	}
	return true
}

// next reports whether another element follows in an array or object
// whose opening bracket has been read, consuming the comma or the end.
func (s *jsonScan) next(first bool, end byte) bool {
	c := s.peek()
	switch {
	case s.err != nil:
		return false
	case c == end:
		s.b = s.b[1:]
		s.depth--
		return false
	case first:
		return true
	case c == ',':
		s.b = s.b[1:]
		return true
	}
	s.fail("want ',' or the end")
	return false
}

// skip scans any value (an unknown field, a self-encoding type's JSON).
func (s *jsonScan) skip() {
	switch s.peek() {
	case '"':
		s.str()
	case '[':
		if s.open('[') {
			for first := true; s.next(first, ']'); first = false {
				s.skip()
			}
		}
	case '{':
		if s.open('{') {
			for first := true; s.next(first, '}'); first = false {
				s.str()
				s.expect(':')
				s.skip()
			}
		}
	default:
		s.literal()
	}
}

func (s *jsonScan) isNull() bool {
	if s.peek() == 'n' {
		if l := s.literal(); string(l) != "null" {
			s.fail("bad literal")
		}
		return true
	}
	return false
}

func (s *jsonScan) value(j *jsonType) {
	if j.kind == jSelf {
		n := len(s.b)
		s.skip()
		s.cost += selfCost + heapSize(2*int64(n-len(s.b)))
		return
	}
	if s.err != nil || s.isNull() {
		return
	}
	switch j.kind {
	case jPointer:
		s.cost += heapSize(j.elem.size)
		s.value(j.elem)
	case jBool:
		if l := s.literal(); string(l) != "true" && string(l) != "false" {
			s.fail("want a bool")
		}
	case jInt, jUint, jFloat:
		s.number(j.kind, j.bits, s.literal())
	case jString:
		s.cost += unquoteCost(s.str())
	case jBytes:
		if s.peek() == '[' {
			s.slice(j)
			return
		}
		n, esc := s.str()
		s.cost += unquoteCost(n, esc) - strCost(n) + heapSize(int64(n+3)/4*3)
	case jArray:
		if s.open('[') {
			i := 0
			for first := true; s.next(first, ']'); first = false {
				if i < j.length {
					s.value(j.elem)
				} else {
					s.skip()
				}
				i++
			}
		}
	case jSlice:
		s.slice(j)
	case jMap, jIntMap, jUintMap:
		s.mapValue(j)
	case jStruct:
		s.structValue(j)
	}
}

// number checks that encoding/json will parse l into a number of this kind
// and size. Numbers longer than encoding/json ever writes are refused: they
// would cost a copy to parse.
func (s *jsonScan) number(kind jsonKind, bits int, l []byte) {
	if s.trusted {
		return
	}
	if len(l) > 32 {
		s.fail("number too long")
		return
	}
	var err error
	switch kind {
	case jInt:
		_, err = strconv.ParseInt(string(l), 10, bits)
	case jUint:
		_, err = strconv.ParseUint(string(l), 10, bits)
	default:
		_, err = strconv.ParseFloat(string(l), bits)
	}
	if err != nil {
		s.fail("number out of range for its type")
	}
}

func (s *jsonScan) slice(j *jsonType) {
	if !s.open('[') {
		return
	}
	n := int64(0)
	for first := true; s.next(first, ']'); first = false {
		s.value(j.elem)
		n++
	}
	s.cost += growCost(n, j.elem.size)
	if n == 0 {
		s.cost += sliceBox // reflect.MakeSlice's header
	}
}

// growCost bounds what appending n elements of size bytes one by one
// allocates, as encoding/json does. Each backing array holds at least
// twice the elements of the last (1.25 times plus 192 past 256 elements),
// so, walking back from the last array too small for n elements, the
// earlier ones are at most half (or 4/5 less 154) as long as the next; an
// array of c elements takes less than c+1 elements' bytes and an 8-byte
// header.
func growCost(n, size int64) int64 {
	if n == 0 || size == 0 {
		return 0
	}
	c := n - 1
	last := max(2*c, 1)
	if c >= 256 {
		last = c + (c+768)/4
	}
	cost := heapSize(last*size) + 8
	for c > 0 {
		cost += (c+1)*size + 8
		if c >= 512 {
			c = (4*c - 765) / 5
		} else {
			c /= 2
		}
	}
	return cost
}

func (s *jsonScan) mapValue(j *jsonType) {
	if !s.open('{') {
		return
	}
	n := int64(0)
	for first := true; s.next(first, '}'); first = false {
		keyStart := s.b // next skipped the space before the key
		k, esc := s.str()
		switch j.kind {
		case jMap:
			s.cost += stringSlot + unquoteCost(k, esc)
		default:
			kind := jInt
			if j.kind == jUintMap {
				kind = jUint
			}
			if s.err == nil {
				s.number(kind, j.bits, keyStart[1:1+k])
			}
			s.cost += heapSize(8) + strCost(k)
		}
		s.expect(':')
		s.value(j.elem)
		n++
	}
	if n > 0 {
		s.cost += heapSize(j.elem.size)
		if j.elem.size > 128 {
			s.cost += n * heapSize(j.elem.size)
		}
	}
	s.cost += jsonMapCost(n, j.slot)
}

// jsonMapCost is what a swiss map allocates as n entries of slot bytes are
// added one by one: one group of 8, then tables doubling to 1024 slots,
// then tables splitting in two.
func jsonMapCost(n, slot int64) int64 {
	group := 8 + 8*slot
	cost := int64(mapHeader)
	if n == 0 {
		return cost
	}
	cost += heapSize(group)
	if n <= 8 {
		return cost
	}
	cost += heapSize(8)
	c := int64(16)
	for ; ; c *= 2 {
		cost += heapSize(tableHeader) + heapSize(c/8*group)
		if n <= c*7/8 || c == 1024 {
			break
		}
	}
	if n > 896 {
		splits := (n + 447) / 448
		cost += 2 * splits * (heapSize(tableHeader) + heapSize(128*group))
		cost += 2 * heapSize(8*pow2(splits+1))
	}
	return cost
}

func (s *jsonScan) structValue(j *jsonType) {
	if !s.open('{') {
		return
	}
	s.structs++
	next := 0 // encoding/json writes fields in order: try the next one first
	for first := true; s.next(first, '}'); first = false {
		keyStart := s.b // next skipped the space before the key
		k, esc := s.str()
		if s.err != nil {
			return
		}
		if esc {
			s.fail("escaped field name")
			return
		}
		key := keyStart[1 : 1+k]
		s.expect(':')
		i, ok := next, next < len(j.fields) && bytes.Equal(j.fields[next].name, key)
		if !ok {
			i, ok = j.byName[string(key)]
		}
		if !ok {
			i = -1
			for f := range j.fields {
				if bytes.EqualFold(j.fields[f].name, key) {
					i = f
					break
				}
			}
		}
		next = i + 1
		switch {
		case i < 0:
			s.skip()
		case j.fields[i].quoted:
			if !s.isNull() {
				n, esc := s.str()
				s.cost += selfCost + 3*unquoteCost(n, esc)
			}
		default:
			s.value(j.fields[i].typ)
		}
	}
}
