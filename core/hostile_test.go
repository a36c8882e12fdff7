package core_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memstore"
	"github.com/sessionkit/sessionkit/stores/storetest"
)

// hostileManager returns a Manager that has issued exactly one token, the
// token, and the ID it signs.
func hostileManager(t testing.TB) (*core.Manager, *storetest.Counting, string, string) {
	store := storetest.NewCounting(memstore.New(memstore.Options{}))
	m, err := core.New(store, core.Config{Keys: [][]byte{testKey}, Cookie: core.CookieConfig{Insecure: true}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Adapter().Load(context.Background(), http.Header{})
	s.Set("n", 1)
	h := http.Header{}
	if err := m.Adapter().Commit(context.Background(), s, h); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimPrefix(strings.SplitN(h.Get("Set-Cookie"), ";", 2)[0], "sid=")
	return m, store, token, s.ID()
}

// Every single-bit flip of a valid token is refused before the store.
func TestEveryBitFlipIsRejected(t *testing.T) {
	m, store, token, id := hostileManager(t)
	defer m.Close()
	accepted := 0
	for i := 0; i < len(token); i++ {
		for bit := 0; bit < 8; bit++ {
			b := []byte(token)
			b[i] ^= 1 << bit
			before := store.Calls()
			s := m.Adapter().Load(context.Background(), http.Header{"Cookie": {"sid=" + string(b)}})
			if n := store.Calls() - before; n != 0 {
				t.Fatalf("byte %d bit %d: %d store calls while verifying a token", i, bit, n)
			}
			if !s.IsNew() {
				// A flip can only land on an equivalent base64 spelling of
				// the same bytes (the padding bits of the last character);
				// anything else opening a session is a forgery.
				if s.ID() != id {
					t.Fatalf("byte %d bit %d: a forged token was accepted", i, bit)
				}
				accepted++
			}
		}
	}
	if accepted > 8 {
		t.Fatalf("%d flipped tokens accepted; only spellings of the padding bits may be", accepted)
	}
}

// Only the configured transport carries the ID: not the URL, not a header.
func TestIDsElsewhereAreIgnored(t *testing.T) {
	m, store, token, _ := hostileManager(t)
	defer m.Close()
	for _, h := range []http.Header{
		{"Session-Token": {token}},
		{"X-Session-Id": {token}},
		{"Cookie": {"session=" + token}},
		{"Cookie": {"SID=" + token}},
	} {
		before := store.Calls()
		if s := m.Adapter().Load(context.Background(), h); !s.IsNew() || store.Calls() != before {
			t.Fatalf("%v opened the session", h)
		}
	}
}

func FuzzTokenRead(f *testing.F) {
	m, store, _, issued := hostileManager(f)
	defer m.Close()
	// The fuzzing workers are other processes, each with its own Manager
	// and its own issued ID; the seeds come from this one. So the seeds
	// carry a token for a fixed ID, signed with the shared test key: the
	// only IDs any worker may accept are that one and its own issued one.
	const fixed = "fuzzTokenReadFixedID0123456789abcdef"
	signed := sign(f, testKey, "sid", fixed)
	f.Add("sid=" + signed)
	f.Add("sid=" + signed + "; sid=x")
	f.Add("sid=\x00")
	f.Add(strings.Repeat("a", 5000))
	f.Fuzz(func(t *testing.T, cookie string) {
		before := store.Calls()
		s := m.Adapter().Load(context.Background(), http.Header{"Cookie": {cookie}})
		if n := store.Calls() - before; n != 0 {
			t.Fatalf("%d store calls while verifying a token", n)
		}
		if !s.IsNew() && s.ID() != fixed && s.ID() != issued {
			t.Fatalf("accepted a token the server never signed (ID %q)", s.ID())
		}
	})
}

// FuzzStoredRecord feeds arbitrary bytes to the Manager as a stored record,
// in sessionkit's record format and in PlainRecords mode with PHP's codec:
// loading never panics, and either opens a session or starts a fresh one.
func FuzzStoredRecord(f *testing.F) {
	ctx := context.Background()
	store := memstore.New(memstore.Options{})
	envelope, err := core.New(store, core.Config{Keys: [][]byte{testKey}, Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	defer envelope.Close()
	php, _ := core.PHPConfig("php", time.Hour)
	php.Logger = quiet
	plain, err := core.New(store, php)
	if err != nil {
		f.Fatal(err)
	}
	defer plain.Close()
	seed := envelope.Adapter().Load(ctx, http.Header{})
	seed.Set("n", 1)
	seed.Set("user", "alice")
	if err := envelope.Adapter().Commit(ctx, seed, http.Header{}); err != nil {
		f.Fatal(err)
	}
	if data, _, _ := store.Read(ctx, seed.ID()); data != nil {
		f.Add(data)
	}
	f.Add([]byte(`__sessionkit|s:27:"c=1&d=2&m=aaaaaaaaaaaaaaaaaaaaaa";user|s:5:"alice";`))
	f.Add([]byte(`user|s:5:"alice";n|i:1;`))
	f.Add([]byte("SK\x01\x02"))
	f.Add([]byte{})
	const id = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := store.Write(ctx, id, data, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, m := range []*core.Manager{envelope, plain} {
			hdr := http.Header{"Cookie": {"__Host-sid=" + sign(t, testKey, "__Host-sid", id) + "; PHPSESSID=" + id}}
			s := m.Adapter().Load(ctx, hdr)
			s.Keys()
			_ = s.Deadline()
			s.Set("touched", true)
			if err := m.Adapter().Commit(ctx, s, http.Header{}); err != nil && !errors.Is(err, core.ErrCorrupt) && !errors.Is(err, core.ErrUnsupportedType) {
				t.Fatalf("commit after loading %q: %v", data, err)
			}
			m.Adapter().Release(s)
			store.Write(ctx, id, data, time.Now().Add(time.Hour))
		}
	})
}
