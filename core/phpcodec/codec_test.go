package phpcodec_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/phpcodec"
)

func values(m map[string]any) func() map[string]any { return func() map[string]any { return m } }

func obj(class string, kv ...any) *phpcodec.Object {
	o := &phpcodec.Object{Class: class, Props: []phpcodec.Entry{}}
	for i := 0; i < len(kv); i += 2 {
		o.Props = append(o.Props, phpcodec.Entry{Key: kv[i], Value: kv[i+1]})
	}
	return o
}

func array(kv ...any) *phpcodec.Array {
	a := &phpcodec.Array{Entries: []phpcodec.Entry{}}
	for i := 0; i < len(kv); i += 2 {
		a.Entries = append(a.Entries, phpcodec.Entry{Key: kv[i], Value: kv[i+1]})
	}
	return a
}

func nested(open, leaf, close string, depth int) string {
	return strings.Repeat(open, depth) + leaf + strings.Repeat(close, depth)
}

// decodeCases are inputs for Decode with what Go makes of them and whether
// PHP's own session_decode() accepts them. A case Go refuses and PHP
// accepts is one of the documented places where PHP would lose data.
var decodeCases = []struct {
	name      string
	codec     phpcodec.Codec
	in        string
	want      func() map[string]any // nil: Decode fails with ErrCorrupt
	canonical string                // what Encode writes back, if not in
	refused   bool                  // Encode refuses what Decode gave
	php       bool                  // PHP's session_decode accepts in
}{
	{name: "empty", codec: phpcodec.PHP, in: "", want: values(map[string]any{}), php: true},
	{name: "int", codec: phpcodec.PHP, in: "a|i:1;", want: values(map[string]any{"a": int64(1)}), php: true},
	{name: "int with plus and zeros", codec: phpcodec.PHP, in: "a|i:+007;", want: values(map[string]any{"a": int64(7)}), canonical: "a|i:7;", php: true},
	{name: "int minus zero", codec: phpcodec.PHP, in: "a|i:-0;", want: values(map[string]any{"a": int64(0)}), canonical: "a|i:0;", php: true},
	{name: "float forms", codec: phpcodec.PHP, in: "a|d:.5;b|d:5.;c|d:1e3;d|d:-1.5E-3;e|d:5;f|d:+2;",
		want:      values(map[string]any{"a": 0.5, "b": 5.0, "c": 1000.0, "d": -0.0015, "e": 5.0, "f": 2.0}),
		canonical: "a|d:0.5;b|d:5;c|d:1000;d|d:-0.0015;e|d:5;f|d:2;", php: true},
	{name: "float overflow is INF", codec: phpcodec.PHP, in: "a|d:1e999;b|d:-1e999;c|d:1e-999;",
		want:      values(map[string]any{"a": math.Inf(1), "b": math.Inf(-1), "c": 0.0}),
		canonical: "a|d:INF;b|d:-INF;c|d:0;", php: true},
	{name: "escaped string", codec: phpcodec.PHP, in: `a|S:3:"\41b\63";`, want: values(map[string]any{"a": "Abc"}), canonical: `a|s:3:"Abc";`, php: true},
	{name: "binary key", codec: phpcodec.PHP, in: "\x00\n;|N;", want: values(map[string]any{"\x00\n;": nil}), php: true},
	{name: "integer-like key", codec: phpcodec.PHP, in: "5|i:1;", want: values(map[string]any{"5": int64(1)}), refused: true, php: true},
	{name: "reference across keys", codec: phpcodec.PHP, in: "a|i:1;b|R:1;", want: func() map[string]any {
		r := &phpcodec.Ref{Value: int64(1)}
		return map[string]any{"a": r, "b": r}
	}, php: true},
	{name: "reference to the object holding it", codec: phpcodec.PHP, in: `a|O:8:"stdClass":1:{s:1:"a";R:1;}`, want: func() map[string]any {
		r := &phpcodec.Ref{}
		r.Value = obj("stdClass", "a", r)
		return map[string]any{"a": r}
	}, php: true},
	{name: "reference to the array holding it", codec: phpcodec.PHP, in: "a|a:1:{i:0;R:1;}", want: func() map[string]any {
		r := &phpcodec.Ref{}
		r.Value = []any{r}
		return map[string]any{"a": r}
	}, php: true},
	{name: "r: to a reference to an object", codec: phpcodec.PHP, in: `a|O:8:"stdClass":0:{}b|R:1;c|r:1;`, want: func() map[string]any {
		o := obj("stdClass")
		r := &phpcodec.Ref{Value: o}
		return map[string]any{"a": r, "b": r, "c": o}
	}, php: true},
	{name: "reference to an r:", codec: phpcodec.PHP, in: `a|O:8:"stdClass":0:{}b|r:1;c|R:2;`, want: func() map[string]any {
		o := obj("stdClass")
		r := &phpcodec.Ref{Value: o}
		return map[string]any{"a": o, "b": r, "c": r}
	}, php: true},
	{name: "object without property count", codec: phpcodec.PHP, in: `a|O:8:"stdClass"::{}`, want: values(map[string]any{"a": obj("stdClass")}), canonical: `a|O:8:"stdClass":0:{}`, php: true},
	{name: "object with int property name", codec: phpcodec.PHP, in: `a|O:8:"stdClass":1:{i:5;i:1;}`, want: values(map[string]any{"a": obj("stdClass", int64(5), int64(1))}), php: true},
	{name: "custom object", codec: phpcodec.PHP, in: `a|C:6:"OldSer":5:{raw:q}`, want: values(map[string]any{"a": &phpcodec.CustomObject{Class: "OldSer", Data: "raw:q"}}), php: true},
	{name: "array key as numeric string", codec: phpcodec.PHP, in: `a|a:2:{s:1:"5";i:1;s:2:"-0";i:2;}`, want: values(map[string]any{"a": array(int64(5), int64(1), "-0", int64(2))}), canonical: `a|a:2:{i:5;i:1;s:2:"-0";i:2;}`, php: true},
	{name: "list in another order", codec: phpcodec.PHP, in: "a|a:2:{i:1;N;i:0;N;}", want: values(map[string]any{"a": array(int64(1), nil, int64(0), nil)}), php: true},
	{name: "depth 4096", codec: phpcodec.PHP, in: "a|" + nested("a:1:{i:0;", "N;", "}", 4096), want: func() map[string]any {
		var v any
		for i := 0; i < 4096; i++ {
			v = []any{v}
		}
		return map[string]any{"a": v}
	}, php: true},
	{name: "empty arrays do not count toward the depth", codec: phpcodec.PHP, in: "a|" + nested("a:1:{i:0;", "a:0:{}", "}", 4096), want: func() map[string]any {
		var v any = []any{}
		for i := 0; i < 4096; i++ {
			v = []any{v}
		}
		return map[string]any{"a": v}
	}, php: true},
	{name: "binary length byte flag", codec: phpcodec.PHPBinary, in: "\x81ai:1;", want: values(map[string]any{"a": int64(1)}), canonical: "\x01ai:1;", php: true},
	{name: "binary empty key", codec: phpcodec.PHPBinary, in: "\x00i:1;", want: values(map[string]any{"": int64(1)}), php: true},
	{name: "serialize empty", codec: phpcodec.PHPSerialize, in: "", want: values(map[string]any{}), canonical: "a:0:{}", php: true},
	{name: "serialize null", codec: phpcodec.PHPSerialize, in: "N;", want: values(map[string]any{}), canonical: "a:0:{}", php: true},
	{name: "serialize int keys", codec: phpcodec.PHPSerialize, in: `a:2:{i:5;s:1:"x";s:1:"7";s:1:"y";}`, want: values(map[string]any{"5": "x", "7": "y"}), canonical: `a:2:{i:5;s:1:"x";i:7;s:1:"y";}`, php: true},
	{name: "serialize list", codec: phpcodec.PHPSerialize, in: `a:1:{i:0;s:1:"x";}`, want: values(map[string]any{"0": "x"}), php: true},
	{name: "serialize trailing bytes ignored", codec: phpcodec.PHPSerialize, in: "a:1:{s:1:\"a\";i:1;}garbage", want: values(map[string]any{"a": int64(1)}), canonical: `a:1:{s:1:"a";i:1;}`, php: true},
	{name: "serialize self-referencing object", codec: phpcodec.PHPSerialize, in: `a:1:{i:0;O:8:"stdClass":1:{s:1:"a";r:2;}}`, want: func() map[string]any {
		o := obj("stdClass")
		o.Props = append(o.Props, phpcodec.Entry{Key: "a", Value: o})
		return map[string]any{"0": o}
	}, php: true},

	// Broken data: neither side reads it.
	{name: "no bar", codec: phpcodec.PHP, in: "a|i:1;garbage", php: false},
	{name: "key without value", codec: phpcodec.PHP, in: "a|", php: false},
	{name: "bool 2", codec: phpcodec.PHP, in: "a|b:2;", php: false},
	{name: "int without semicolon", codec: phpcodec.PHP, in: "a|i:1", php: false},
	{name: "int without digits", codec: phpcodec.PHP, in: "a|i:-;", php: false},
	{name: "float exponent without digits", codec: phpcodec.PHP, in: "a|d:1e;", php: false},
	{name: "float +INF", codec: phpcodec.PHP, in: "a|d:+INF;", php: false},
	{name: "string past the end", codec: phpcodec.PHP, in: `a|s:5:"abc";`, php: false},
	{name: "string shorter than its length", codec: phpcodec.PHP, in: `a|s:2:"abc";`, php: false},
	{name: "bad escape", codec: phpcodec.PHP, in: `a|S:1:"\4g";`, php: false},
	{name: "array not closed", codec: phpcodec.PHP, in: "a|a:1:{i:0;i:1;", php: false},
	{name: "array shorter than its count", codec: phpcodec.PHP, in: "a|a:2:{i:0;i:1;}", php: false},
	{name: "array count 2^60", codec: phpcodec.PHP, in: "a|a:1152921504606846976:{i:0;N;}", php: false},
	{name: "array count too big for the input", codec: phpcodec.PHP, in: "a|a:1000:{i:0;N;}", php: false},
	{name: "string length 2^60", codec: phpcodec.PHP, in: `a|s:1152921504606846976:"x";`, php: false},
	{name: "object count 2^62", codec: phpcodec.PHP, in: `a|O:8:"stdClass":4611686018427387904:{}`, php: false},
	{name: "float key", codec: phpcodec.PHP, in: "a|a:1:{d:1;N;}", php: false},
	{name: "r: to itself", codec: phpcodec.PHP, in: "a|r:1;", php: false},
	{name: "r: to an int", codec: phpcodec.PHP, in: "a|i:1;b|r:1;", php: false},
	{name: "R: to nothing", codec: phpcodec.PHP, in: "a|R:2;", php: false},
	{name: "R:0", codec: phpcodec.PHP, in: "a|i:1;b|R:0;", php: false},
	{name: "empty class", codec: phpcodec.PHP, in: `a|O:0:"":0:{}`, php: false},
	{name: "invalid class name", codec: phpcodec.PHP, in: `a|O:3:"a-b":0:{}`, php: false},
	{name: "enum without case", codec: phpcodec.PHP, in: `a|E:4:"Suit";`, php: false},
	{name: "custom object data too short", codec: phpcodec.PHP, in: `a|C:6:"OldSer":9:{raw:q}`, php: false},
	{name: "depth 4097", codec: phpcodec.PHP, in: "a|" + nested("a:1:{i:0;", "N;", "}", 4097), php: false},
	{name: "object depth 4097", codec: phpcodec.PHP, in: "a|" + nested(`O:8:"stdClass":1:{s:1:"a";`, "N;", "}", 4097), php: false},
	{name: "binary key past the end", codec: phpcodec.PHPBinary, in: "\x05ai:1;", php: false},
	{name: "binary key without value", codec: phpcodec.PHPBinary, in: "\x01a", php: false},
	{name: "serialize r: to the session", codec: phpcodec.PHPSerialize, in: `a:1:{s:1:"x";r:1;}`, php: false},

	// What PHP reads only by losing data; Go refuses it.
	{name: "int out of range (PHP clamps)", codec: phpcodec.PHP, in: "a|i:9223372036854775808;", php: true},
	{name: "array key twice (PHP keeps the last)", codec: phpcodec.PHP, in: "a|a:2:{i:0;i:1;i:0;i:2;}", php: true},
	{name: "array key twice as int and string", codec: phpcodec.PHP, in: `a|a:2:{i:5;i:1;s:1:"5";i:2;}`, php: true},
	{name: "property twice (PHP keeps the last)", codec: phpcodec.PHP, in: `a|O:8:"stdClass":2:{i:5;i:1;s:1:"5";i:2;}`, php: true},
	{name: "session key twice (PHP keeps the last)", codec: phpcodec.PHP, in: "a|i:1;a|i:2;", php: true},
	{name: "serialize not an array (PHP's $_SESSION becomes an int)", codec: phpcodec.PHPSerialize, in: "i:5;", php: true},
	{name: "serialize reference to the session", codec: phpcodec.PHPSerialize, in: `a:1:{s:1:"x";R:1;}`, php: true},
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.codec.String()+"/"+tc.name, func(t *testing.T) {
			got, err := tc.codec.Decode([]byte(tc.in))
			if tc.want == nil {
				if !errors.Is(err, phpcodec.ErrCorrupt) || got != nil {
					t.Fatalf("Decode = %v, %v; want ErrCorrupt", short(got), err)
				}
				if !strings.HasPrefix(err.Error(), "phpcodec: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d := diff(got, tc.want()); d != "" {
				t.Fatal(d)
			}
			want := tc.canonical
			if want == "" {
				want = tc.in
			}
			if tc.refused {
				if _, err := tc.codec.Encode(got); !errors.Is(err, phpcodec.ErrUnrepresentable) {
					t.Errorf("Encode(Decode): %v, want ErrUnrepresentable", err)
				}
				return
			}
			if b, err := tc.codec.Encode(got); err != nil || string(b) != want {
				t.Errorf("Encode(Decode) = %q, %v; want %q", b, err, want)
			}
		})
	}
}

// TestDecodeAgreesWithPHP runs every input of TestDecode through PHP's
// session_decode(): PHP accepts what the table says it does.
func TestDecodeAgreesWithPHP(t *testing.T) {
	for _, c := range codecs {
		var inputs []string
		var idx []int
		for i, tc := range decodeCases {
			if tc.codec == c {
				inputs = append(inputs, base64.StdEncoding.EncodeToString([]byte(tc.in)))
				idx = append(idx, i)
			}
		}
		var accepted []bool
		runPHP(t, inputs, &accepted, "decode", c.String(), t.TempDir(), "-")
		for j, ok := range accepted {
			tc := decodeCases[idx[j]]
			if ok != tc.php {
				t.Errorf("%s/%s: PHP's session_decode accepts = %v, the table says %v", c, tc.name, ok, tc.php)
			}
		}
	}
}

func TestEncode(t *testing.T) {
	shared := &phpcodec.Ref{Value: "s"}
	o := &phpcodec.Object{Class: "stdClass"}
	refToSeen := &phpcodec.Ref{Value: o}
	var deep any = "x"
	for i := 0; i < 4096; i++ {
		deep = []any{deep}
	}
	cases := []struct {
		name  string
		codec phpcodec.Codec
		in    map[string]any
		want  string
	}{
		{"empty php", phpcodec.PHP, map[string]any{}, ""},
		{"empty php_serialize", phpcodec.PHPSerialize, nil, "a:0:{}"},
		{"empty php_binary", phpcodec.PHPBinary, map[string]any{}, ""},
		{"int kinds", phpcodec.PHP, map[string]any{"a": int8(-8), "b": int16(16), "c": int32(-32), "d": uint(7), "e": uint8(8), "f": uint16(16), "g": uint32(32), "h": uint64(math.MaxInt64)},
			"a|i:-8;b|i:16;c|i:-32;d|i:7;e|i:8;f|i:16;g|i:32;h|i:9223372036854775807;"},
		{"bytes and float32", phpcodec.PHP, map[string]any{"b": []byte("x\x00"), "f": float32(0.1)}, "b|s:2:\"x\x00\";f|d:0.10000000149011612;"},
		{"typed slices and maps", phpcodec.PHP, map[string]any{"l": []string{"x"}, "n": []int{7}, "m": map[string]string{"b": "2", "a": "1", "5": "five"}},
			`l|a:1:{i:0;s:1:"x";}m|a:3:{i:5;s:4:"five";s:1:"a";s:1:"1";s:1:"b";s:1:"2";}n|a:1:{i:0;i:7;}`},
		{"nil containers", phpcodec.PHP, map[string]any{"a": []any(nil), "m": map[string]any(nil), "p": (*phpcodec.Array)(nil), "o": (*phpcodec.Object)(nil), "r": (*phpcodec.Ref)(nil)},
			"a|a:0:{}m|a:0:{}o|N;p|N;r|N;"},
		{"array keys normalised", phpcodec.PHP, map[string]any{"a": array("5", 1, 6, 2, "x", 3)}, `a|a:3:{i:5;i:1;i:6;i:2;s:1:"x";i:3;}`},
		{"values instead of pointers", phpcodec.PHP, map[string]any{"a": phpcodec.Array{Entries: []phpcodec.Entry{{Key: "k", Value: 1}}},
			"e": phpcodec.Enum{Class: `App\Suit`, Case: "Hearts"}, "c": phpcodec.CustomObject{Class: "C", Data: ""}, "o": phpcodec.Object{Class: "Foo"}},
			`a|a:1:{s:1:"k";i:1;}c|C:1:"C":0:{}e|E:15:"App\Suit:Hearts";o|O:3:"Foo":0:{}`},
		{"shared reference", phpcodec.PHP, map[string]any{"a": shared, "b": []any{shared}}, `a|s:1:"s";b|a:1:{i:0;R:1;}`},
		{"shared object", phpcodec.PHPSerialize, map[string]any{"a": o, "b": []any{o}}, `a:2:{s:1:"a";O:8:"stdClass":0:{}s:1:"b";a:1:{i:0;r:2;}}`},
		{"reference to an object seen before", phpcodec.PHP, map[string]any{"a": o, "b": refToSeen, "c": refToSeen}, `a|O:8:"stdClass":0:{}b|r:1;c|R:2;`},
		{"keys php_serialize keeps", phpcodec.PHPSerialize, map[string]any{"a|b": 1, "5": 2, strings.Repeat("k", 200): 3}, `a:3:{i:5;i:2;s:3:"a|b";i:1;s:200:"` + strings.Repeat("k", 200) + `";i:3;}`},
		{"pipe in php_binary key", phpcodec.PHPBinary, map[string]any{"a|b": 1}, "\x03a|bi:1;"},
		{"depth 4096", phpcodec.PHP, map[string]any{"d": deep}, "d|" + nested("a:1:{i:0;", `s:1:"x";`, "}", 4096)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.codec.Encode(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("Encode =\n %q\nwant\n %q", got, tc.want)
			}
			if _, err := tc.codec.Decode(got); err != nil {
				t.Errorf("Decode(Encode): %v", err)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	self := []any{nil}
	self[0] = self
	selfMap := map[string]any{}
	selfMap["m"] = selfMap
	var deep any = 1
	for i := 0; i < 4096; i++ {
		deep = []any{deep}
	}
	many := array()
	for i := 0; i < 20; i++ {
		many.Entries = append(many.Entries, phpcodec.Entry{Key: i, Value: i})
	}
	many.Entries = append(many.Entries, phpcodec.Entry{Key: "3", Value: 0})
	cases := []struct {
		name  string
		codec phpcodec.Codec
		in    map[string]any
		msg   string // a part of the error message
	}{
		{"struct", phpcodec.PHP, map[string]any{"a": struct{}{}}, `$_SESSION["a"]: type struct {} has no PHP equivalent`},
		{"time", phpcodec.PHP, map[string]any{"a": time.Time{}}, "time.Time"},
		{"duration", phpcodec.PHP, map[string]any{"a": time.Second}, "time.Duration"},
		{"int-keyed map", phpcodec.PHP, map[string]any{"a": map[int]any{1: 1}}, "map[int]interface {}"},
		{"int64 slice", phpcodec.PHP, map[string]any{"a": []int64{1}}, "[]int64"},
		{"func", phpcodec.PHP, map[string]any{"a": func() {}}, "func()"},
		{"uint64 above int64", phpcodec.PHP, map[string]any{"a": uint64(math.MaxInt64 + 1)}, "above PHP's largest integer"},
		{"uint above int64", phpcodec.PHP, map[string]any{"a": uint(math.MaxUint)}, "above PHP's largest integer"},
		{"deep inside", phpcodec.PHP, map[string]any{"cart": map[string]any{"items": []any{1, 2, 3, time.Now()}}}, `$_SESSION["cart"]["items"][3]: type time.Time`},
		{"Ref value", phpcodec.PHP, map[string]any{"a": phpcodec.Ref{}}, "use *Ref"},
		{"reference to a reference", phpcodec.PHP, map[string]any{"a": &phpcodec.Ref{Value: &phpcodec.Ref{}}}, "reference to a reference"},
		{"bad class", phpcodec.PHP, map[string]any{"a": &phpcodec.Object{Class: "a-b"}}, `"a-b" is not a class name`},
		{"empty class", phpcodec.PHP, map[string]any{"a": phpcodec.CustomObject{}}, "not a class name"},
		{"bad enum case", phpcodec.PHP, map[string]any{"a": &phpcodec.Enum{Class: "Suit", Case: "1x"}}, "enum"},
		{"bad property", phpcodec.PHP, map[string]any{"a": obj("Foo", "p", obj("Bar", "q", struct{}{}))}, `$_SESSION["a"]->"p"->"q"`},
		{"array key float", phpcodec.PHP, map[string]any{"a": array(1.5, 1)}, "key of type float64"},
		{"array key twice", phpcodec.PHP, map[string]any{"a": array(5, 1, "5", 2)}, `key "5" appears twice`},
		{"array key twice, many keys", phpcodec.PHP, map[string]any{"a": many}, `key "3" appears twice`},
		{"property twice", phpcodec.PHP, map[string]any{"a": obj("Foo", int64(1), 1, "1", 2)}, "appears twice"},
		{"cycle through a slice", phpcodec.PHP, map[string]any{"a": self}, "nest deeper than 4096"},
		{"cycle through a map", phpcodec.PHPSerialize, map[string]any{"a": selfMap}, "nest deeper than 4096"},
		{"php_serialize depth counts the session", phpcodec.PHPSerialize, map[string]any{"a": deep}, "nest deeper than 4096"},
		{"pipe in php key", phpcodec.PHP, map[string]any{"a|b": 1}, `"|" makes PHP write an empty session`},
		{"integer-like php key", phpcodec.PHP, map[string]any{"5": 1}, "integer-like"},
		{"negative integer-like php_binary key", phpcodec.PHPBinary, map[string]any{"-5": 1}, "integer-like"},
		{"long php_binary key", phpcodec.PHPBinary, map[string]any{strings.Repeat("k", 128): 1}, "at most 127 bytes"},
		{"unknown codec", phpcodec.Codec(7), map[string]any{}, "phpcodec.Codec(7)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.codec.Encode(tc.in)
			if !errors.Is(err, phpcodec.ErrUnrepresentable) || b != nil {
				t.Fatalf("Encode = %q, %v; want ErrUnrepresentable", b, err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "phpcodec: ") {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestForHandler(t *testing.T) {
	for _, c := range codecs {
		got, err := phpcodec.ForHandler(c.String())
		if err != nil || got != c {
			t.Errorf("ForHandler(%q) = %v, %v", c.String(), got, err)
		}
	}
	if _, err := phpcodec.ForHandler("msgpack"); err == nil {
		t.Error("ForHandler(msgpack) succeeded")
	}
	var zero phpcodec.Codec
	if zero != phpcodec.PHP {
		t.Error("the zero Codec is not PHP's default handler")
	}
	if _, err := phpcodec.Codec(-1).Decode([]byte("a|N;")); !errors.Is(err, phpcodec.ErrCorrupt) {
		t.Errorf("Decode with an unknown codec: %v", err)
	}
}

func TestGet(t *testing.T) {
	a := array(int64(5), "five", "k", "v")
	for _, tc := range []struct {
		key  any
		want any
		ok   bool
	}{{5, "five", true}, {int64(5), "five", true}, {"5", "five", true}, {"05", nil, false}, {"k", "v", true}, {1.0, nil, false}} {
		if got, ok := a.Get(tc.key); got != tc.want || ok != tc.ok {
			t.Errorf("Array.Get(%#v) = %v, %v", tc.key, got, ok)
		}
	}
	o := obj("Pt", "x", 1, "\x00*\x00y", 2, "\x00Pt\x00z", 3)
	for name, want := range map[string]any{"x": 1, "y": 2, "z": 3} {
		if got, ok := o.Get(name); got != want || !ok {
			t.Errorf("Object.Get(%q) = %v, %v", name, got, ok)
		}
	}
	if _, ok := o.Get("w"); ok {
		t.Error("Object.Get(w) found a property")
	}
}

// TestDecodeBoundsMemory decodes inputs that promise far more than they
// hold; each must fail without allocating for the promise.
func TestDecodeBoundsMemory(t *testing.T) {
	for _, in := range []string{
		"a|a:1073741823:{",
		"a|s:2147483647:\"",
		`a|O:8:"stdClass":9223372036854775807:{`,
		`a|C:8:"stdClass":9223372036854775807:{`,
		"a|" + strings.Repeat("a:1:{i:0;", 100000),
		"a|" + strings.Repeat("a:1000:{i:0;", 1000),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := phpcodec.PHP.Decode([]byte(in))
		runtime.ReadMemStats(&after)
		if !errors.Is(err, phpcodec.ErrCorrupt) {
			t.Fatalf("Decode(%.30q…): %v", in, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64*uint64(len(in))+64<<10 {
			t.Errorf("Decode(%.30q…) allocated %d bytes for %d bytes of input", in, grew, len(in))
		}
	}
}

func TestEncodeIsDeterministic(t *testing.T) {
	m := map[string]any{}
	for i := 0; i < 100; i++ {
		m[strings.Repeat("k", i%7)+string(rune('a'+i%26))] = map[string]any{"x": i, "y": []string{"a"}}
	}
	first, err := phpcodec.PHPSerialize.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if b, _ := phpcodec.PHPSerialize.Encode(m); !bytes.Equal(b, first) {
			t.Fatal("two encodings of one map differ")
		}
	}
}
