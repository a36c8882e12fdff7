package phpcodec_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/core/phpcodec"
)

// benchSession is a typical logged-in session: a user record, a cart, a
// flash message, a CSRF token and an object PHP put there.
func benchSession() map[string]any {
	return map[string]any{
		"user":  map[string]any{"id": 42, "name": "alice", "roles": []string{"admin", "editor"}, "verified": true},
		"cart":  []any{map[string]any{"sku": "A-1", "qty": 2, "price": 9.99}, map[string]any{"sku": "B-7", "qty": 1, "price": 120.5}},
		"flash": "Saved.",
		"csrf":  "6f1c0b3e9a7d4f2e8b5c1a0d9e7f6a3b",
		"login": &phpcodec.Object{Class: `App\Auth\Login`, Props: []phpcodec.Entry{
			{Key: "\x00*\x00at", Value: int64(1767225600)}, {Key: "\x00App\\Auth\\Login\x00ip", Value: "203.0.113.9"}}},
	}
}

func BenchmarkEncode(b *testing.B) {
	values := benchSession()
	for _, c := range codecs {
		b.Run(c.String(), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := c.Encode(values); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range codecs {
		data, err := c.Encode(benchSession())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.String(), func(b *testing.B) {
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
