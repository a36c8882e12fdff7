package sqlitestore_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

var testKeys = [][]byte{[]byte("0123456789abcdef0123456789abcdef-sqlitestore-tests")}

// counterApp increments "n" on /inc and shows it on /get.
func counterApp(t testing.TB) http.Handler {
	mux := http.NewServeMux()
	session := func(w http.ResponseWriter, r *http.Request) *core.Session {
		s, err := core.FromContext(r.Context())
		if err != nil {
			t.Errorf("FromContext: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
		return s
	}
	mux.HandleFunc("/inc", func(w http.ResponseWriter, r *http.Request) {
		if s := session(w, r); s != nil {
			n, _ := core.Get[int](s, "n")
			s.Set("n", n+1)
			io.WriteString(w, strconv.Itoa(n+1))
		}
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		if s := session(w, r); s != nil {
			n, _ := core.Get[int](s, "n")
			io.WriteString(w, strconv.Itoa(n))
		}
	})
	return mux
}

// newServer runs the real middleware with locking over store.
func newServer(t testing.TB, store core.Store) *httptest.Server {
	t.Helper()
	m, err := core.New(store, core.Config{
		Keys:          testKeys,
		Locking:       true,
		Cookie:        core.CookieConfig{Insecure: true},
		TouchInterval: time.Hour,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	srv := httptest.NewServer(m.Handler(counterApp(t)))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
	})
	return srv
}

func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestConcurrentIncrements: 100 concurrent increments of one session
// through the net/http middleware with locking, spread over two servers
// with their own *sql.DB on one database file (two processes, in effect),
// end at exactly 100 — twenty runs in a row.
func TestConcurrentIncrements(t *testing.T) {
	db1, path := openDB(t)
	db2, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	servers := []*httptest.Server{
		newServer(t, newStore(t, db1, sqlitestore.Options{})),
		newServer(t, newStore(t, db2, sqlitestore.Options{})),
	}
	const runs, n = 20, 100
	for run := 0; run < runs; run++ {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		br := &http.Client{Jar: jar, Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
		if code, body, err := get(br, servers[0].URL+"/inc"); err != nil || code != http.StatusOK || body != "1" {
			t.Fatalf("first /inc = %d %q, %v", code, body, err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 1; i < n; i++ {
			wg.Add(1)
			go func(srv *httptest.Server) {
				defer wg.Done()
				code, body, err := get(br, srv.URL+"/inc")
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("status %d: %s", code, body)
				}
				errs <- err
			}(servers[i%2])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("run %d: /inc: %v", run, err)
			}
		}
		if code, body, err := get(br, servers[1].URL+"/get"); err != nil || code != http.StatusOK || body != strconv.Itoa(n) {
			t.Fatalf("run %d: /get = %d %q, %v; want %d", run, code, body, err, n)
		}
		br.CloseIdleConnections()
	}
}
