package core_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/phpcodec"
	"github.com/sessionkit/sessionkit/stores/memstore"
)

// phpID is an ID as PHP 8.4 mints it: 32 hex characters.
const phpID = "0123456789abcdef0123456789abcdef"

// phpApp is a Manager in PHP's layout over a memstore, behind net/http.
func phpApp(t *testing.T, handler string, locking bool) (*core.Manager, *memstore.Store, *httptest.Server) {
	t.Helper()
	cfg, err := core.PHPConfig(handler, 24*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cookie.Insecure = true
	cfg.Locking = locking
	cfg.Logger = quiet
	store := memstore.New(memstore.Options{})
	m, err := core.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/show", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		user, _ := core.Get[string](s, "user")
		cart, _ := core.Get[[]any](s, "cart")
		io.WriteString(w, user)
		for _, item := range cart {
			io.WriteString(w, ","+item.(string))
		}
		if err := s.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		cart, _ := core.Get[[]any](s, "cart")
		s.Set("cart", append(cart, r.URL.Query().Get("item")))
		s.AddFlash("added")
	})
	mux.HandleFunc("/reserved", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Set(core.MetaKey, "c=0")
		if !errors.Is(s.Err(), core.ErrUnsupportedType) {
			t.Errorf("Set(%q): Err = %v, want ErrUnsupportedType", core.MetaKey, s.Err())
		}
	})
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
	})
	return m, store, srv
}

func getPHP(t *testing.T, srv *httptest.Server, path string, cookies ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	for _, c := range cookies {
		req.Header.Add("Cookie", c)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A session PHP wrote is read as it is, changed in place (same ID, no new
// cookie), and stays readable by PHP's format: exactly the codec's bytes
// with sessionkit's metadata under its reserved key.
func TestPlainRecordsShareSessionsWithPHP(t *testing.T) {
	_, store, srv := phpApp(t, "php", false)
	ctx := context.Background()
	written := `user|s:5:"alice";cart|a:1:{i:0;s:4:"book";}`
	if err := store.Write(ctx, phpID, []byte(written), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := body(t, getPHP(t, srv, "/show", "PHPSESSID="+phpID)); got != "alice,book" {
		t.Fatalf("Go read PHP's session as %q", got)
	}
	res := getPHP(t, srv, "/add?item=pen", "PHPSESSID="+phpID)
	body(t, res)
	if sc := res.Header.Values("Set-Cookie"); res.StatusCode != http.StatusOK || len(sc) != 0 {
		t.Fatalf("adding to PHP's session: %d, Set-Cookie %q (PHP's cookie must stay)", res.StatusCode, sc)
	}
	data, found, err := store.Read(ctx, phpID)
	if err != nil || !found {
		t.Fatal(found, err)
	}
	values, err := phpcodec.PHP.Decode(data)
	if err != nil {
		t.Fatalf("PHP's format cannot read what Go wrote: %v (%q)", err, data)
	}
	if values["user"] != "alice" || !strings.HasPrefix(string(data), core.MetaKey+"|s:") {
		t.Fatalf("Go wrote %q", data)
	}
	cart, _ := values["cart"].([]any)
	if len(cart) != 2 || cart[1] != "pen" {
		t.Fatalf("cart as PHP sees it: %#v", values["cart"])
	}
	if f, _ := values["__sessionkit_flashes"].([]any); len(f) != 1 || f[0] != "added" {
		t.Fatalf("flashes as PHP sees them: %#v", values["__sessionkit_flashes"])
	}
}

// An empty PHP session (0 bytes) exists: it is not replaced by a new ID.
func TestPlainRecordsEmptySessionExists(t *testing.T) {
	_, store, srv := phpApp(t, "php", false)
	if err := store.Write(context.Background(), phpID, nil, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	res := getPHP(t, srv, "/add?item=pen", "PHPSESSID="+phpID)
	body(t, res)
	if len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("an empty PHP session was replaced: Set-Cookie %q", res.Header.Values("Set-Cookie"))
	}
	if got := body(t, getPHP(t, srv, "/show", "PHPSESSID="+phpID)); got != ",pen" {
		t.Fatalf("after adding to the empty session: %q", got)
	}
}

// A record the codec cannot read is left alone: the request fails, the
// record and PHP's cookie stay, and the lock is released at the end.
func TestPlainRecordsUndecodableRecordIsLeftAlone(t *testing.T) {
	for _, locking := range []bool{false, true} {
		_, store, srv := phpApp(t, "php", locking)
		ctx := context.Background()
		garbage := []byte(`user|i:notanumber;`)
		if err := store.Write(ctx, phpID, garbage, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ { // the second request is not blocked by a lock left behind
			res := getPHP(t, srv, "/add?item=pen", "PHPSESSID="+phpID)
			body(t, res)
			if res.StatusCode != http.StatusInternalServerError || len(res.Header.Values("Set-Cookie")) != 0 {
				t.Fatalf("locking=%v: undecodable record: %d, Set-Cookie %q; want 500 and no cookie", locking, res.StatusCode, res.Header.Values("Set-Cookie"))
			}
		}
		if data, found, _ := store.Read(ctx, phpID); !found || string(data) != string(garbage) {
			t.Fatalf("locking=%v: the record was changed or removed: %q", locking, data)
		}
	}
}

// The PHPSESSID cookie is read as PHP reads it: the first of two wins, and
// "," arrives as %2C; Go sends "," as %2C too.
func TestRawCookieAsPHPSendsIt(t *testing.T) {
	_, store, srv := phpApp(t, "php", false)
	ctx := context.Background()
	comma := "abc,def-ghi,jkl-mno,pqr-stu,vwx-yz" // a 6-bit PHP ID
	for _, id := range []string{comma, phpID} {
		if err := store.Write(ctx, id, []byte(`user|s:`+itoa(len(id))+`:"`+id+`";`), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if got := body(t, getPHP(t, srv, "/show", "PHPSESSID="+strings.ReplaceAll(comma, ",", "%2C"))); got != comma {
		t.Fatalf("%%2C-encoded ID read as the session of %q", got)
	}
	if got := body(t, getPHP(t, srv, "/show", "PHPSESSID="+phpID+"; PHPSESSID="+comma)); got != phpID {
		t.Fatalf("two PHPSESSID cookies: read the session of %q, want the first", got)
	}
	sc := core.Config{Transport: core.TransportRawCookie, Cookie: core.CookieConfig{Insecure: true}, IDLength: 43, IDBitsPerChar: 6, Logger: quiet}
	m, err := core.New(nil, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i := 0; i < 50; i++ {
		s := m.Adapter().Load(ctx, http.Header{})
		s.Set("n", 1)
		h := http.Header{}
		if err := m.Adapter().Commit(ctx, s, h); err != nil {
			t.Fatal(err)
		}
		if v := strings.SplitN(h.Get("Set-Cookie"), ";", 2)[0]; strings.Contains(v, ",") {
			t.Fatalf("raw cookie %q carries a bare comma", v)
		}
	}
}

// The metadata key is sessionkit's: setting it is refused (the handler
// sees ErrUnsupportedType, the request fails, nothing is stored).
func TestPlainRecordsReserveMetaKey(t *testing.T) {
	_, _, srv := phpApp(t, "php_serialize", false)
	res := getPHP(t, srv, "/reserved")
	if got := body(t, res); res.StatusCode != http.StatusInternalServerError || len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("setting %s: %d %q, Set-Cookie %q; want 500, no session", core.MetaKey, res.StatusCode, got, res.Header.Values("Set-Cookie"))
	}
}
