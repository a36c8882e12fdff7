package phpcodec_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/phpcodec"
)

// These tests run the real PHP (php-cli, 8.2 in CI) through
// testdata/session.php: PHP writes sessions that Go must read and write
// back byte for byte, and reads sessions that Go wrote.

var codecs = []phpcodec.Codec{phpcodec.PHP, phpcodec.PHPSerialize, phpcodec.PHPBinary}

// phpBinary returns the path of php. Without it the test cannot run: outside
// CI it skips loudly, in CI (CI set) it fails, as the servers' tests do.
func phpBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("php")
	if err == nil {
		return path
	}
	msg := "php (php-cli) is not on PATH, so the PHP interop tests cannot run (scripts/services.sh installs it)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING: " + msg)
	return ""
}

// runPHP runs testdata/session.php with args, sends req as JSON and decodes
// the JSON answer into resp. It returns what PHP wrote to stderr (its
// warnings).
func runPHP(t *testing.T, req, resp any, args ...string) string {
	t.Helper()
	script, err := filepath.Abs("testdata/session.php")
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Settings that php.ini may change and the expected bytes depend on;
	// E_DEPRECATED would only report that OldSer uses Serializable.
	cmd := exec.CommandContext(ctx, phpBinary(t),
		"-d", "serialize_precision=-1",
		"-d", "unserialize_max_depth=4096",
		"-d", "display_errors=stderr",
		"-d", "log_errors=0",
		"-d", "error_reporting=E_ALL & ~E_DEPRECATED",
		script)
	cmd.Args = append(cmd.Args, args...)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("php %s: %v\nstderr: %s\nstdout: %s", strings.Join(args, " "), err, stderr.Bytes(), stdout.Bytes())
	}
	if err := json.Unmarshal(stdout.Bytes(), resp); err != nil {
		t.Fatalf("php %s: answer %q: %v\nstderr: %s", strings.Join(args, " "), stdout.Bytes(), err, stderr.Bytes())
	}
	return stderr.String()
}

// phpWrite lets PHP write a session from PHP statements and returns the
// file PHP wrote.
func phpWrite(t *testing.T, c phpcodec.Codec, statements []string, sorted bool) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	var resp struct{}
	stderr := runPHP(t, map[string]any{"statements": statements, "sort": sorted}, &resp, "write", c.String(), dir, "written")
	data, err := os.ReadFile(filepath.Join(dir, "sess_written"))
	if err != nil {
		t.Fatal(err)
	}
	return data, stderr
}

// phpRead puts data where PHP's files handler looks for a session, lets PHP
// read it, and returns var_dump of the keys of each group (by group name)
// and what session_encode() gives back.
func phpRead(t *testing.T, c phpcodec.Codec, data []byte, groups map[string][]string) (map[string]string, []byte) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sess_fromgo"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Dumps   map[string]string
		Encoded string
	}
	if stderr := runPHP(t, groups, &resp, "read", c.String(), dir, "fromgo"); stderr != "" {
		t.Fatalf("PHP warned while reading %q: %s", data, stderr)
	}
	dumps := make(map[string]string, len(resp.Dumps))
	for name, b64 := range resp.Dumps {
		dumps[name] = string(mustBase64(t, b64))
	}
	return dumps, mustBase64(t, resp.Encoded)
}

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// interopCase is one group of session keys: the PHP statements that set
// them, the same values in Go, and what var_dump prints for each key (in
// sorted key order) once PHP has read them.
type interopCase struct {
	name string
	php  string
	vals func() map[string]any
	dump string
}

var interopCases = []interopCase{
	{
		name: "scalars",
		php:  `$_SESSION['s_null'] = null; $_SESSION['s_true'] = true; $_SESSION['s_false'] = false; $_SESSION['s_int'] = 42;`,
		vals: func() map[string]any {
			return map[string]any{"s_null": nil, "s_true": true, "s_false": false, "s_int": int64(42)}
		},
		dump: "bool(false)\nint(42)\nNULL\nbool(true)\n",
	},
	{
		name: "ints",
		php:  `$_SESSION['ints'] = [0, -17, PHP_INT_MAX, PHP_INT_MIN];`,
		vals: func() map[string]any {
			return map[string]any{"ints": []any{int64(0), int64(-17), int64(math.MaxInt64), int64(math.MinInt64)}}
		},
		dump: "array(4) {\n  [0]=>\n  int(0)\n  [1]=>\n  int(-17)\n  [2]=>\n  int(9223372036854775807)\n  [3]=>\n  int(-9223372036854775808)\n}\n",
	},
	{
		name: "floats",
		php: `$_SESSION['floats'] = [0.1, 1.5e300, -0.0, INF, -INF, NAN, 1.0, 1e15, 1e16, 1e17, 0.30000000000000004,
			5e-324, 1e-5, 0.0001, 1.7976931348623157e308, -2.5e-5, 123456789012345678.0, 100.0]; $_SESSION['f_top'] = 3.14;`,
		vals: func() map[string]any {
			return map[string]any{
				"floats": []any{0.1, 1.5e300, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1.0, 1e15, 1e16, 1e17, 0.30000000000000004,
					5e-324, 1e-5, 0.0001, math.MaxFloat64, -2.5e-5, 123456789012345678.0, 100.0},
				"f_top": 3.14,
			}
		},
		dump: "float(3.14)\narray(18) {\n  [0]=>\n  float(0.1)\n  [1]=>\n  float(1.5E+300)\n  [2]=>\n  float(-0)\n  [3]=>\n  float(INF)\n  [4]=>\n  float(-INF)\n  [5]=>\n  float(NAN)\n  [6]=>\n  float(1)\n  [7]=>\n  float(1000000000000000)\n  [8]=>\n  float(10000000000000000)\n  [9]=>\n  float(1.0E+17)\n  [10]=>\n  float(0.30000000000000004)\n  [11]=>\n  float(5.0E-324)\n  [12]=>\n  float(1.0E-5)\n  [13]=>\n  float(0.0001)\n  [14]=>\n  float(1.7976931348623157E+308)\n  [15]=>\n  float(-2.5E-5)\n  [16]=>\n  float(1.2345678901234568E+17)\n  [17]=>\n  float(100)\n}\n",
	},
	{
		name: "strings",
		php:  `$_SESSION['str_utf8'] = 'héllo wörld ✓'; $_SESSION['str_bin'] = "\x00\xff\"\n;|}"; $_SESSION['str_empty'] = '';`,
		vals: func() map[string]any {
			return map[string]any{"str_utf8": "héllo wörld ✓", "str_bin": "\x00\xff\"\n;|}", "str_empty": ""}
		},
		dump: "string(7) \"\x00\xff\"\n;|}\"\nstring(0) \"\"\nstring(17) \"héllo wörld ✓\"\n",
	},
	{
		name: "arrays",
		php: `$_SESSION['arr_list'] = [1, 'x', null]; $_SESSION['arr_empty'] = [];
			$_SESSION['arr_sparse'] = [3 => 'a', 7 => 'b'];
			$_SESSION['arr_nested'] = ['k' => ['z' => [true]], 5 => 'five', -3 => 'm', '05' => 'z', '9' => null];`,
		vals: func() map[string]any {
			return map[string]any{
				"arr_list":   []any{int64(1), "x", nil},
				"arr_empty":  []any{},
				"arr_sparse": &phpcodec.Array{Entries: []phpcodec.Entry{{Key: int64(3), Value: "a"}, {Key: int64(7), Value: "b"}}},
				"arr_nested": &phpcodec.Array{Entries: []phpcodec.Entry{
					{Key: "k", Value: &phpcodec.Array{Entries: []phpcodec.Entry{{Key: "z", Value: []any{true}}}}},
					{Key: int64(5), Value: "five"},
					{Key: int64(-3), Value: "m"},
					{Key: "05", Value: "z"},
					{Key: int64(9), Value: nil},
				}},
			}
		},
		dump: "array(0) {\n}\narray(3) {\n  [0]=>\n  int(1)\n  [1]=>\n  string(1) \"x\"\n  [2]=>\n  NULL\n}\n" +
			"array(5) {\n  [\"k\"]=>\n  array(1) {\n    [\"z\"]=>\n    array(1) {\n      [0]=>\n      bool(true)\n    }\n  }\n  [5]=>\n  string(4) \"five\"\n  [-3]=>\n  string(1) \"m\"\n  [\"05\"]=>\n  string(1) \"z\"\n  [9]=>\n  NULL\n}\n" +
			"array(2) {\n  [3]=>\n  string(1) \"a\"\n  [7]=>\n  string(1) \"b\"\n}\n",
	},
	{
		name: "objects",
		php: `$o = new stdClass; $o->p = 1; $_SESSION['obj_std'] = $o; $_SESSION['obj_user'] = new Pt;
			$_SESSION['obj_magic'] = new Magic; $_SESSION['obj_custom'] = new OldSer;
			$_SESSION['obj_missing'] = unserialize('O:7:"Missing":1:{s:1:"a";i:1;}');`,
		vals: func() map[string]any {
			return map[string]any{
				"obj_std": &phpcodec.Object{Class: "stdClass", Props: []phpcodec.Entry{{Key: "p", Value: int64(1)}}},
				"obj_user": &phpcodec.Object{Class: "Pt", Props: []phpcodec.Entry{
					{Key: "x", Value: int64(1)}, {Key: "\x00*\x00y", Value: int64(2)}, {Key: "\x00Pt\x00z", Value: int64(3)}}},
				"obj_magic": &phpcodec.Object{Class: "Magic", Props: []phpcodec.Entry{
					{Key: int64(0), Value: int64(10)}, {Key: "k", Value: []any{int64(1)}}}},
				"obj_custom":  &phpcodec.CustomObject{Class: "OldSer", Data: "raw:q"},
				"obj_missing": &phpcodec.Object{Class: "Missing", Props: []phpcodec.Entry{{Key: "a", Value: int64(1)}}},
			}
		},
		dump: "object(OldSer) (1) {\n  [\"data\"]=>\n  string(5) \"raw:q\"\n}\n" +
			"object(Magic) (1) {\n  [\"a\"]=>\n  array(1) {\n    [0]=>\n    int(1)\n  }\n}\n" +
			"object(__PHP_Incomplete_Class) (2) {\n  [\"__PHP_Incomplete_Class_Name\"]=>\n  string(7) \"Missing\"\n  [\"a\"]=>\n  int(1)\n}\n" +
			"object(stdClass) (1) {\n  [\"p\"]=>\n  int(1)\n}\n" +
			"object(Pt) (3) {\n  [\"x\"]=>\n  int(1)\n  [\"y\":protected]=>\n  int(2)\n  [\"z\":\"Pt\":private]=>\n  int(3)\n}\n",
	},
	{
		name: "enums",
		php:  `$_SESSION['enum_backed'] = Suit::Hearts; $_SESSION['enum_pure'] = Pure::A; $_SESSION['enum_twice'] = [Suit::Spades, Suit::Spades];`,
		vals: func() map[string]any {
			spades := &phpcodec.Enum{Class: "Suit", Case: "Spades"}
			return map[string]any{
				"enum_backed": &phpcodec.Enum{Class: "Suit", Case: "Hearts"},
				"enum_pure":   &phpcodec.Enum{Class: "Pure", Case: "A"},
				"enum_twice":  []any{spades, spades},
			}
		},
		dump: "enum(Suit::Hearts)\nenum(Pure::A)\narray(2) {\n  [0]=>\n  enum(Suit::Spades)\n  [1]=>\n  enum(Suit::Spades)\n}\n",
	},
	{
		name: "references",
		php: `$a = [1]; $_SESSION['ref_x'] = &$a; $_SESSION['ref_y'] = &$a;
			$o2 = new stdClass; $_SESSION['ref_obj_a'] = &$o2; $_SESSION['ref_obj_b'] = &$o2;
			$c = [1]; $c[] = &$c; $_SESSION['ref_cycle'] = $c;`,
		vals: func() map[string]any {
			shared := &phpcodec.Ref{Value: []any{int64(1)}}
			obj := &phpcodec.Ref{Value: &phpcodec.Object{Class: "stdClass", Props: []phpcodec.Entry{}}}
			cycle := &phpcodec.Ref{}
			cycle.Value = []any{int64(1), cycle}
			return map[string]any{
				"ref_x": shared, "ref_y": shared,
				"ref_obj_a": obj, "ref_obj_b": obj,
				"ref_cycle": []any{int64(1), cycle},
			}
		},
		dump: "array(2) {\n  [0]=>\n  int(1)\n  [1]=>\n  &array(2) {\n    [0]=>\n    int(1)\n    [1]=>\n    *RECURSION*\n  }\n}\n" +
			"object(stdClass) (0) {\n}\nobject(stdClass) (0) {\n}\n" +
			"array(1) {\n  [0]=>\n  int(1)\n}\narray(1) {\n  [0]=>\n  int(1)\n}\n",
	},
	{
		name: "object back-references",
		php: `$o = new stdClass; $o->n = 1; $_SESSION['back_a'] = $o; $_SESSION['back_b'] = $o;
			$s = new stdClass; $s->self = $s; $_SESSION['back_self'] = $s;`,
		vals: func() map[string]any {
			o := &phpcodec.Object{Class: "stdClass", Props: []phpcodec.Entry{{Key: "n", Value: int64(1)}}}
			self := &phpcodec.Object{Class: "stdClass"}
			self.Props = []phpcodec.Entry{{Key: "self", Value: self}}
			return map[string]any{"back_a": o, "back_b": o, "back_self": self}
		},
		dump: "object(stdClass) (1) {\n  [\"n\"]=>\n  int(1)\n}\nobject(stdClass) (1) {\n  [\"n\"]=>\n  int(1)\n}\n" +
			"object(stdClass) (1) {\n  [\"self\"]=>\n  *RECURSION*\n}\n",
	},
	{
		name: "unusual keys",
		php:  `$_SESSION["key \x00 ✓"] = 1; $_SESSION[''] = 2; $_SESSION[str_repeat('k', 127)] = 3; $_SESSION['-0'] = 4; $_SESSION['05'] = 5;`,
		vals: func() map[string]any {
			return map[string]any{"key \x00 ✓": int64(1), "": int64(2), strings.Repeat("k", 127): int64(3), "-0": int64(4), "05": int64(5)}
		},
		dump: "int(2)\nint(4)\nint(5)\nint(1)\nint(3)\n",
	},
}

// allValues merges the Go values of every case into one session.
func allValues() map[string]any {
	all := map[string]any{}
	for _, c := range interopCases {
		for k, v := range c.vals() {
			all[k] = v
		}
	}
	return all
}

func allStatements() []string {
	var s []string
	for _, c := range interopCases {
		s = append(s, c.php)
	}
	return s
}

// TestPHPWritesGoReads lets PHP write each kind of value with each handler;
// Go must decode it to the documented values and encode exactly PHP's bytes.
func TestPHPWritesGoReads(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.String(), func(t *testing.T) {
			data, stderr := phpWrite(t, c, allStatements(), true)
			if stderr != "" {
				t.Fatalf("PHP warned: %s", stderr)
			}
			got, err := c.Decode(data)
			if err != nil {
				t.Fatalf("Decode(%q): %v", data, err)
			}
			for _, tc := range interopCases {
				t.Run(tc.name, func(t *testing.T) {
					want := tc.vals()
					sub := map[string]any{}
					for k := range want {
						sub[k] = got[k]
					}
					if d := diff(sub, want); d != "" {
						t.Error(d)
					}
				})
			}
			if len(got) != len(allValues()) {
				t.Errorf("decoded %d keys, want %d", len(got), len(allValues()))
			}
			again, err := c.Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Errorf("Encode(Decode(PHP's bytes)) differs:\n got %q\nwant %q", again, data)
			}
			fromGo, err := c.Encode(allValues())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fromGo, data) {
				t.Errorf("Encode(the same values in Go) differs from PHP:\n got %q\nwant %q", fromGo, data)
			}
		})
	}
}

// TestPHPWritesUnsortedGoReads lets PHP write the keys in the order the
// statements set them: the back-references count differently, the values
// are the same, and Go writes its canonical (sorted) bytes.
func TestPHPWritesUnsortedGoReads(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.String(), func(t *testing.T) {
			data, stderr := phpWrite(t, c, allStatements(), false)
			if stderr != "" {
				t.Fatalf("PHP warned: %s", stderr)
			}
			got, err := c.Decode(data)
			if err != nil {
				t.Fatalf("Decode(%q): %v", data, err)
			}
			if d := diff(got, allValues()); d != "" {
				t.Error(d)
			}
			again, err := c.Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			canonical, err := c.Encode(allValues())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, canonical) {
				t.Errorf("Encode(Decode(unsorted)) = %q, want %q", again, canonical)
			}
		})
	}
}

// TestGoWritesPHPReads encodes the values in Go and lets PHP's files
// handler read them: var_dump must show the values, and PHP's own
// session_encode() of what it read must give Go's bytes back.
func TestGoWritesPHPReads(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.String(), func(t *testing.T) {
			data, err := c.Encode(allValues())
			if err != nil {
				t.Fatal(err)
			}
			groups := map[string][]string{}
			for _, tc := range interopCases {
				keys := make([]string, 0)
				for k := range tc.vals() {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				groups[tc.name] = keys
			}
			dumps, reencoded := phpRead(t, c, data, groups)
			for _, tc := range interopCases {
				t.Run(tc.name, func(t *testing.T) {
					if dumps[tc.name] != tc.dump {
						t.Errorf("PHP's var_dump:\n%s\nwant:\n%s", dumps[tc.name], tc.dump)
					}
				})
			}
			if !bytes.Equal(reencoded, data) {
				t.Errorf("PHP read Go's session and wrote it back differently:\n PHP %q\n  Go %q", reencoded, data)
			}
		})
	}
}

// TestWhatPHPWouldLose shows that PHP itself loses the sessions that Encode
// refuses, so refusing is the only way not to lose data.
func TestWhatPHPWouldLose(t *testing.T) {
	long := strings.Repeat("k", 128)
	cases := []struct {
		name     string
		codec    phpcodec.Codec
		php      string
		vals     map[string]any
		phpWrote string
	}{
		{"pipe in key", phpcodec.PHP, `$_SESSION['a|b'] = 1; $_SESSION['c'] = 2;`, map[string]any{"a|b": 1, "c": 2}, ""},
		{"integer-like key, php", phpcodec.PHP, `$_SESSION['7'] = 1; $_SESSION['c'] = 2;`, map[string]any{"7": 1, "c": 2}, "c|i:2;"},
		{"integer-like key, php_binary", phpcodec.PHPBinary, `$_SESSION['-7'] = 1; $_SESSION['c'] = 2;`, map[string]any{"-7": 1, "c": 2}, "\x01ci:2;"},
		{"128-byte key, php_binary", phpcodec.PHPBinary, `$_SESSION[str_repeat('k', 128)] = 1; $_SESSION['c'] = 2;`, map[string]any{long: 1, "c": 2}, "\x01ci:2;"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, _ := phpWrite(t, tc.codec, []string{tc.php}, true)
			if string(data) != tc.phpWrote {
				t.Errorf("PHP wrote %q, want %q", data, tc.phpWrote)
			}
			if _, err := tc.codec.Encode(tc.vals); !errors.Is(err, phpcodec.ErrUnrepresentable) {
				t.Errorf("Encode: %v, want ErrUnrepresentable", err)
			}
		})
	}
}

// TestFloatsMatchPHP formats floats of every magnitude as PHP's serialize()
// does: random bit patterns, short decimals, integers, powers of ten and
// the edges of float64.
func TestFloatsMatchPHP(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	floats := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(),
		math.MaxFloat64, math.SmallestNonzeroFloat64, 2.2250738585072014e-308, math.MaxInt64, 1 << 53, 1<<53 + 2}
	for e := -330; e <= 310; e++ {
		floats = append(floats, math.Pow(10, float64(e)), 1.5*math.Pow(10, float64(e)))
	}
	for i := 0; i < 3000; i++ {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) {
			continue
		}
		floats = append(floats,
			f,
			float64(rng.IntN(1_000_000))/math.Pow(10, float64(rng.IntN(12))),
			float64(rng.Int64())*math.Pow(10, float64(rng.IntN(40)-20)))
	}
	hexes := make([]string, len(floats))
	for i, f := range floats {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], math.Float64bits(f))
		hexes[i] = hex.EncodeToString(b[:])
	}
	var php []string
	runPHP(t, hexes, &php, "floats", "-", "-", "-")
	if len(php) != len(floats) {
		t.Fatalf("PHP answered %d floats, want %d", len(php), len(floats))
	}
	mismatches := 0
	for i, f := range floats {
		b, err := phpcodec.PHPSerialize.Encode(map[string]any{"f": f})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.TrimSuffix(strings.TrimPrefix(string(b), `a:1:{s:1:"f";`), "}")
		if got != php[i] {
			if mismatches++; mismatches <= 10 {
				t.Errorf("%v (bits %x): Go writes %s, PHP %s", f, math.Float64bits(f), got, php[i])
			}
			continue
		}
		back, err := phpcodec.PHPSerialize.Decode([]byte(`a:1:{s:1:"f";` + php[i] + "}"))
		if err != nil {
			t.Fatal(err)
		}
		if g := back["f"].(float64); math.Float64bits(g) != math.Float64bits(f) && !math.IsNaN(f) {
			t.Errorf("%s decodes to %v (bits %x), want bits %x", php[i], g, math.Float64bits(g), math.Float64bits(f))
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d floats differ from PHP", mismatches, len(floats))
	}
}
