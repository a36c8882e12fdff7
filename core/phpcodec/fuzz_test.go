package phpcodec_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/core/phpcodec"
)

// The fuzz targets feed Decode arbitrary bytes. It must never panic, fail
// only with ErrCorrupt, and whatever it accepts must survive Encode: the
// encoded bytes decode to the same values (shared references and objects
// included) and encode to the same bytes again. Seeds: TestDecode's inputs
// and testdata/fuzz, sessions real PHP wrote (TestFuzzCorpusIsWhatPHPWrites).

func FuzzDecodePHP(f *testing.F)          { fuzzDecode(f, phpcodec.PHP) }
func FuzzDecodePHPSerialize(f *testing.F) { fuzzDecode(f, phpcodec.PHPSerialize) }
func FuzzDecodePHPBinary(f *testing.F)    { fuzzDecode(f, phpcodec.PHPBinary) }

func fuzzDecode(f *testing.F, c phpcodec.Codec) {
	for _, tc := range decodeCases {
		if tc.codec == c && len(tc.in) < 1024 {
			f.Add([]byte(tc.in))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.Decode(data)
		if err != nil {
			if !errors.Is(err, phpcodec.ErrCorrupt) {
				t.Fatalf("Decode error %v is not ErrCorrupt", err)
			}
			return
		}
		enc, err := c.Encode(v)
		if err != nil {
			// PHP's php and php_binary decoders take integer-like keys
			// that PHP code cannot reach; Encode refuses to write them.
			if errors.Is(err, phpcodec.ErrUnrepresentable) && c != phpcodec.PHPSerialize && hasIntegerLikeKey(v) {
				return
			}
			t.Fatalf("Encode(Decode(%q)): %v", data, err)
		}
		again, err := c.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) = Decode(%q): %v", data, enc, err)
		}
		if d := diff(again, v); d != "" {
			t.Fatalf("%q encodes to %q, which decodes differently: %s", data, enc, d)
		}
		if enc2, err := c.Encode(again); err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("%q: encoding is not stable: %q then %q (%v)", data, enc, enc2, err)
		}
	})
}

func hasIntegerLikeKey(m map[string]any) bool {
	for k := range m {
		if i, err := strconv.ParseInt(k, 10, 64); err == nil && strconv.FormatInt(i, 10) == k {
			return true
		}
	}
	return false
}

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz from the sessions PHP writes now")

var fuzzTargets = map[phpcodec.Codec]string{
	phpcodec.PHP:          "FuzzDecodePHP",
	phpcodec.PHPSerialize: "FuzzDecodePHPSerialize",
	phpcodec.PHPBinary:    "FuzzDecodePHPBinary",
}

// TestFuzzCorpusIsWhatPHPWrites lets PHP write one small session per
// interop case and handler: the committed fuzz seeds must be exactly those
// bytes (go test -run TestFuzzCorpus -update-corpus rewrites them), and
// each must decode and encode back byte for byte.
func TestFuzzCorpusIsWhatPHPWrites(t *testing.T) {
	for _, c := range codecs {
		for _, tc := range interopCases {
			t.Run(c.String()+"/"+tc.name, func(t *testing.T) {
				data, stderr := phpWrite(t, c, []string{tc.php}, true)
				if stderr != "" {
					t.Fatalf("PHP warned: %s", stderr)
				}
				v, err := c.Decode(data)
				if err != nil {
					t.Fatalf("Decode(%q): %v", data, err)
				}
				if enc, err := c.Encode(v); err != nil || !bytes.Equal(enc, data) {
					t.Errorf("Encode(Decode(%q)) = %q, %v", data, enc, err)
				}

				path := filepath.Join("testdata", "fuzz", fuzzTargets[c], "php-"+strings.ReplaceAll(tc.name, " ", "-"))
				want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
				if *updateCorpus {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				got, err := os.ReadFile(path)
				if err != nil || string(got) != want {
					t.Errorf("%s is not what PHP writes now (%v); go test -run TestFuzzCorpus -update-corpus rewrites it", path, err)
				}
			})
		}
	}
}
