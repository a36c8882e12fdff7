package core_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// codecBenchValues are session shapes for the codec benchmarks: what a login
// keeps, every built-in type once, a cart of small maps, a registered struct
// and one large string.
func codecBenchValues() []struct {
	name   string
	values map[string]any
} {
	when := time.Date(2026, 11, 24, 4, 0, 0, 123, time.UTC)
	cart := make([]any, 50)
	for i := range cart {
		cart[i] = map[string]any{"sku": fmt.Sprintf("SKU-%04d", i), "qty": i%5 + 1, "price": 9.99}
	}
	return []struct {
		name   string
		values map[string]any
	}{
		{"login", map[string]any{"user_id": 12345, "csrf": strings.Repeat("x", 43), "login_at": when, "roles": []string{"admin", "user"}}},
		{"mixed", map[string]any{
			"nil": nil, "t": true, "s": "héllo", "b": []byte{0, 1, 0xff}, "i": -42, "i64": int64(-1 << 62),
			"u64": uint64(1 << 63), "f64": 3.25, "time": when, "dur": 90 * time.Second,
			"strs": []string{"a", ""}, "ints": []int{1, -2}, "list": []any{1, "x", []any{true}},
			"sm": map[string]string{"k": "v"}, "m": map[string]any{"n": map[string]any{"deep": 1}},
		}},
		{"cart", map[string]any{"cart": cart}},
		{"registered", map[string]any{"p": profile{Name: "ann", Roles: []string{"admin", "user"}, Age: 41}}},
		{"blob", map[string]any{"b": strings.Repeat("x", 64<<10)}},
	}
}

func BenchmarkCodec(b *testing.B) {
	var c core.BinaryCodec
	for _, bc := range codecBenchValues() {
		name, v := bc.name, bc.values
		data, err := c.Encode(v)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("encode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := c.Encode(v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("decode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := c.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEncodeSmallSessionAllocs: encoding a session of a few keys allocates
// its output and nothing else (the sorted keys live on the stack) — the
// new-session path runs it on every login.
func TestEncodeSmallSessionAllocs(t *testing.T) {
	for _, values := range []map[string]any{
		{"n": 1},
		{"user": "ada", "role": "admin", "csrf": "x", "n": 7, "ok": true},
	} {
		n := testing.AllocsPerRun(100, func() {
			if _, err := (core.BinaryCodec{}).Encode(values); err != nil {
				t.Fatal(err)
			}
		})
		if n > 1 {
			t.Errorf("Encode of %d keys: %.0f allocations, want 1", len(values), n)
		}
	}
}
