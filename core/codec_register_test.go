package core_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// Types RegisterType must refuse: JSON would not bring them back intact.
type (
	withUnexported  struct{ Name, secret string }
	withHiddenInner struct{ Inner struct{ n int } }
	withAny         struct{ V any }
	withDeepAny     struct{ L []map[string]any }
	withStructKey   struct{ M map[[2]int]string }
	withBoolKey     struct{ M map[bool]string }
	withTextKey     struct{ M map[netip.Addr]int }
	withChan        struct{ C chan int }
	withFunc        struct{ F func() }
	withComplex     struct{ C complex128 }
	withPtrPtr      struct{ P **int }
	withPtrSlice    struct{ P *[]int }
	withDash        struct {
		A int
		B int `json:"-"`
	}
	withOmitSlice struct {
		S []int `json:",omitempty"`
	}
	withSameName struct {
		ID int
		Id int `json:"id"`
	}
	withHTMLName struct {
		A int `json:"a<b"`
	}
	withEmbeddedPtr struct {
		*profileBase
		X int
	}
	profileBase      struct{ Base string }
	withEmbeddedTime struct {
		time.Time
		Note string
	}
	ptrMarshaler    struct{ A int }
	onlyUnmarshaler struct{ A int }
	badTree         struct {
		Kids []badTree
		Data any
	}
)

func (*ptrMarshaler) MarshalJSON() ([]byte, error)  { return []byte("1"), nil }
func (*ptrMarshaler) UnmarshalJSON(b []byte) error  { return nil }
func (*onlyUnmarshaler) UnmarshalJSON([]byte) error { return nil }

func TestRegisterTypeRefusesLossyTypes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		register func() error
	}{
		{"unexported field", core.RegisterType[withUnexported]},
		{"unexported field in a nested struct", core.RegisterType[withHiddenInner]},
		{"interface field", core.RegisterType[withAny]},
		{"interface deep inside", core.RegisterType[withDeepAny]},
		{"interface at the top", core.RegisterType[any]},
		{"array map key", core.RegisterType[withStructKey]},
		{"bool map key", core.RegisterType[withBoolKey]},
		{"MarshalText map key", core.RegisterType[withTextKey]},
		{"channel", core.RegisterType[withChan]},
		{"func", core.RegisterType[withFunc]},
		{"complex", core.RegisterType[withComplex]},
		{"pointer to pointer", core.RegisterType[withPtrPtr]},
		{"pointer to slice", core.RegisterType[withPtrSlice]},
		{`json:"-"`, core.RegisterType[withDash]},
		{"omitempty slice", core.RegisterType[withOmitSlice]},
		{"two names differing in case", core.RegisterType[withSameName]},
		{"name JSON escapes", core.RegisterType[withHTMLName]},
		{"embedded pointer", core.RegisterType[withEmbeddedPtr]},
		{"embedded time.Time", core.RegisterType[withEmbeddedTime]},
		{"pointer-receiver MarshalJSON", core.RegisterType[ptrMarshaler]},
		{"UnmarshalJSON alone", core.RegisterType[onlyUnmarshaler]},
		{"recursive type with an interface", core.RegisterType[badTree]},
		{"pointer to interface", core.RegisterType[*any]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.register()
			if !errors.Is(err, core.ErrUnsupportedType) {
				t.Fatalf("got %v, want ErrUnsupportedType", err)
			}
			t.Log(err)
		})
	}
	// A refused type stays unregistered.
	if _, err := (core.BinaryCodec{}).Encode(map[string]any{"x": withAny{V: 1}}); !errors.Is(err, core.ErrUnsupportedType) {
		t.Fatalf("refused type encoded: %v", err)
	}
}

// Types that must round-trip exactly.
type (
	rtUser struct {
		Name   string
		Age    int
		Level  rtLevel
		Tags   []string
		Scores map[string]float64
		Born   time.Time
		Last   *time.Time
		Home   *rtAddr
		Prev   []rtAddr
		ByID   map[int64]rtAddr
		ByU8   map[uint8][]int16
		Flags  [3]bool
		Raw    []byte
		IDs    rtIDs
		Big    int64  `json:"big,string"`
		Small  uint16 `json:"s,omitempty"`
		Ratio  float32
		Wait   time.Duration
		Addr   netip.Addr
		Nested struct{ A, B []uint }
		rtNote // promoted: an unexported embedded struct with exported fields
		rtMeta
	}
	rtAddr struct {
		Street string
		Zip    uint32
		Geo    *[2]float64
	}
	rtNote struct{ Note string }
	rtMeta struct {
		Version uint64
		Extra   map[string]string
	}
	rtTree struct {
		Label string
		Kids  []*rtTree
		Index map[string]*rtTree
	}
	rtLevel int8
	rtIDs   []uint64
)

func init() {
	for _, register := range []func() error{core.RegisterType[rtUser], core.RegisterType[rtTree], core.RegisterType[*rtAddr], core.RegisterType[rtIDs]} {
		if err := register(); err != nil {
			panic(err)
		}
	}
}

func TestRegisterTypeAgainAndBuiltins(t *testing.T) {
	for _, register := range []func() error{core.RegisterType[rtUser], core.RegisterType[int], core.RegisterType[time.Time], core.RegisterType[map[string]any]} {
		if err := register(); err != nil {
			t.Fatal(err)
		}
	}
}

func clashA() error {
	type clash struct{ A int }
	return core.RegisterType[clash]()
}

func clashB() error {
	type clash struct{ B string }
	return core.RegisterType[clash]()
}

// Types declared in functions can share a name; the second must not take
// over the first's stored values.
func TestRegisterTypeNameClash(t *testing.T) {
	if err := clashA(); err != nil {
		t.Fatal(err)
	}
	if err := clashB(); !errors.Is(err, core.ErrConfig) {
		t.Fatalf("got %v, want ErrConfig", err)
	}
}

// randomValue fills a value of type t: nil, empty and full slices, maps and
// pointers, strings JSON must escape, extreme numbers, and times in UTC and
// in fixed zones (what JSON brings back identically).
func randomValue(r *rand.Rand, t reflect.Type, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	switch t {
	case reflect.TypeOf(time.Time{}):
		tm := time.Unix(r.Int63n(1<<35)-1<<34, r.Int63n(1e9)).UTC()
		// JSON writes a zero offset as Z, which comes back as UTC.
		if offset := []int{0, (r.Intn(27) - 12) * 3600, r.Intn(1000)*60 - 30000}[r.Intn(3)]; offset != 0 {
			tm = tm.In(time.FixedZone("", offset))
		}
		v.Set(reflect.ValueOf(tm))
		return v
	case reflect.TypeOf(netip.Addr{}):
		var a [4]byte
		r.Read(a[:])
		v.Set(reflect.ValueOf(netip.AddrFrom4(a)))
		return v
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(r.Intn(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt((r.Int63() >> r.Intn(64) * int64(1-2*r.Intn(2))) >> (64 - t.Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(r.Uint64() >> r.Intn(64) >> (64 - t.Bits()))
	case reflect.Float32:
		v.SetFloat(float64(math.Float32frombits(r.Uint32()&^(0xff<<23) | uint32(r.Intn(254))<<23)))
	case reflect.Float64:
		f := []float64{0, math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64, r.NormFloat64() * 1e6}
		v.SetFloat(f[r.Intn(len(f))])
	case reflect.String:
		const chars = "aé<>&\"\\\n\u2028\U0001F600\x00 "
		var b strings.Builder
		for i := r.Intn(8); i > 0; i-- {
			b.WriteString(string([]rune(chars)[r.Intn(len([]rune(chars)))]))
		}
		v.SetString(b.String())
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			v.Index(i).Set(randomValue(r, t.Elem(), depth))
		}
	case reflect.Slice:
		switch n := r.Intn(5); {
		case n == 0 || depth > 3:
		case n == 1:
			v.Set(reflect.MakeSlice(t, 0, 0))
		default:
			v.Set(reflect.MakeSlice(t, n-1, n-1))
			for i := 0; i < n-1; i++ {
				v.Index(i).Set(randomValue(r, t.Elem(), depth+1))
			}
		}
	case reflect.Map:
		switch n := r.Intn(5); {
		case n == 0 || depth > 3:
		default:
			v.Set(reflect.MakeMap(t))
			for i := 1; i < n; i++ {
				v.SetMapIndex(randomValue(r, t.Key(), depth+1), randomValue(r, t.Elem(), depth+1))
			}
		}
	case reflect.Pointer:
		if r.Intn(3) > 0 && depth <= 3 {
			v.Set(reflect.New(t.Elem()))
			v.Elem().Set(randomValue(r, t.Elem(), depth+1))
		}
	case reflect.Struct:
		fillStruct(r, v, depth)
	default:
		panic(t)
	}
	return v
}

// fillStruct fills v's fields, and those promoted from unexported embedded
// structs one by one (the embedded field itself cannot be set).
func fillStruct(r *rand.Rand, v reflect.Value, depth int) {
	for i := 0; i < v.NumField(); i++ {
		if f := v.Type().Field(i); !f.IsExported() && f.Anonymous {
			fillStruct(r, v.Field(i), depth)
			continue
		}
		v.Field(i).Set(randomValue(r, v.Field(i).Type(), depth+1))
	}
}

// A registered value comes back DeepEqual, and encodes to the same bytes
// again.
func TestRegisteredTypesRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var c core.BinaryCodec
	for _, typ := range []reflect.Type{reflect.TypeOf(rtUser{}), reflect.TypeOf(rtTree{}), reflect.TypeOf(&rtAddr{}), reflect.TypeOf(rtIDs{})} {
		t.Run(typ.String(), func(t *testing.T) {
			for i := 0; i < 300; i++ {
				in := map[string]any{"v": randomValue(r, typ, 0).Interface()}
				b, err := c.Encode(in)
				if err != nil {
					t.Fatalf("%#v: %v", in["v"], err)
				}
				out, err := c.Decode(b)
				if err != nil {
					t.Fatalf("%#v: %v", in["v"], err)
				}
				if !reflect.DeepEqual(out, in) {
					t.Fatalf("round trip changed the value:\n in %#v\nout %#v", in["v"], out["v"])
				}
				if b2, err := c.Encode(out); err != nil || string(b2) != string(b) {
					t.Fatalf("re-encoding differs: %v", err)
				}
			}
		})
	}
}

func TestRegisteredValuesJSONWouldChangeAreRefused(t *testing.T) {
	for name, v := range map[string]any{
		"invalid UTF-8 string":  rtUser{Name: "a\xffb"},
		"invalid UTF-8 map key": rtUser{Scores: map[string]float64{"\xc3": 1}},
		"NaN":                   rtUser{Scores: map[string]float64{"x": math.NaN()}},
		"year 10000":            rtUser{Born: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := (core.BinaryCodec{}).Encode(map[string]any{"v": v}); !errors.Is(err, core.ErrUnsupportedType) {
			t.Errorf("%s: got %v, want ErrUnsupportedType", name, err)
		}
	}
}

// registeredRecord is a stored record holding a registered value whose JSON
// is js.
func registeredRecord(name, js string) []byte {
	b := []byte{1, 1, 'v', 24} // one key, "v", tagRegistered
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, uint64(len(js)))
	return append(b, js...)
}

// JSON that does not fit the registered type is corrupt, found before
// encoding/json starts (its errors allocate as it goes).
func TestRegisteredJSONMustFitItsType(t *testing.T) {
	const user = "github.com/sessionkit/sessionkit/core_test.rtUser"
	ok := registeredRecord(user, ` { "Name" : "a" , "Tags":[ "x" ],"big":"12","Unknown":[1,{"a":[]}], "ByID" : { "7" : {} } } `)
	if _, err := (core.BinaryCodec{}).Decode(ok); err != nil {
		t.Fatal(err)
	}
	for name, js := range map[string]string{
		"string for int":      `{"Age":"1"}`,
		"int overflow":        `{"Level":300}`,
		"float for int":       `{"Age":1.5}`,
		"object for slice":    `{"Tags":{}}`,
		"number for string":   `{"Name":1}`,
		"long number":         `{"Age":1` + strings.Repeat("0", 40) + `}`,
		"trailing data":       `{}{}`,
		"escaped field name":  `{"N\u0061me":"x"}`,
		"bad int map key":     `{"ByID":{"x":{}}}`,
		"nested too deep":     `{"Unknown":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
		"unterminated string": `{"Name":"x}`,
		"not JSON":            `{"Name":nul}`,
	} {
		_, err := (core.BinaryCodec{}).Decode(registeredRecord(user, js))
		if !errors.Is(err, core.ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}

// Encode refuses values that would cost the decoder more than it allows,
// so it never writes a record that cannot be read back.
func TestEncodeRefusesValuesTooCostlyToDecode(t *testing.T) {
	_, err := core.BinaryCodec{}.Encode(map[string]any{"nils": make([]any, 1<<20)})
	if !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("a million nils: got %v, want ErrTooLarge", err)
	}
	if _, err := (core.BinaryCodec{}).Encode(map[string]any{"nils": make([]any, 1<<12)}); err != nil {
		t.Fatalf("4096 nils: %v", err)
	}
}
