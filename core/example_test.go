package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

func nopRead(context.Context, string) ([]byte, bool, error)     { return nil, false, nil }
func nopWrite(context.Context, string, []byte, time.Time) error { return nil }
func nopDestroy(context.Context, string) error                  { return nil }

// A PHP save handler ported function by function. The PHP original:
//
//	session_set_save_handler(
//	    fn($path, $name) => true,                          // open
//	    fn() => true,                                      // close
//	    fn($id) => $db->get($id) ?? '',                    // read
//	    fn($id, $data) => $db->set($id, $data, $ttl),      // write
//	    fn($id) => $db->del($id),                          // destroy
//	    fn($max) => $db->purge($max),                      // gc
//	    null,                                              // create_sid: PHP's own
//	    fn($id) => $db->has($id),                          // validateId
//	    fn($id, $data) => $db->expire($id, $ttl),          // updateTimestamp
//	);
func Example_portedPHPHandler() {
	type row struct {
		data   []byte
		expiry time.Time
	}
	var mu sync.Mutex
	db := map[string]row{}

	store, err := core.FuncStore(core.Funcs{
		Read: func(ctx context.Context, id string) ([]byte, bool, error) {
			mu.Lock()
			defer mu.Unlock()
			r, ok := db[id]
			if !ok || time.Now().After(r.expiry) {
				return nil, false, nil
			}
			return r.data, true, nil
		},
		Write: func(ctx context.Context, id string, data []byte, expiry time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			db[id] = row{append([]byte(nil), data...), expiry}
			return nil
		},
		Destroy: func(ctx context.Context, id string) error {
			mu.Lock()
			defer mu.Unlock()
			delete(db, id)
			return nil
		},
		GC: func(ctx context.Context, now time.Time) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for id, r := range db {
				if now.After(r.expiry) {
					delete(db, id)
					n++
				}
			}
			return n, nil
		},
		Exists: func(ctx context.Context, id string) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			_, ok := db[id]
			return ok, nil
		},
		Touch: func(ctx context.Context, id string, expiry time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			if r, ok := db[id]; ok {
				r.expiry = expiry
				db[id] = r
			}
			return nil
		},
		// Open, Close and CreateID are nil: those capabilities are absent
		// and the Manager uses its own.
	})
	if err != nil {
		panic(err)
	}
	m, err := core.New(store, core.Config{
		// Load the signing key from a secret store; each key is at least 32 bytes.
		Keys:   [][]byte{[]byte("an-example-key-of-32-bytes-or-more!")},
		Cookie: core.CookieConfig{Insecure: true}, // plain-HTTP demo only
	})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "visits")
		s.Set("visits", n+1)
		fmt.Fprintf(w, "visit %d", n+1)
	}))
	srv := httptest.NewServer(app)
	defer srv.Close()

	var cookie string
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, _ := http.DefaultClient.Do(req)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if c := res.Cookies(); len(c) > 0 {
			cookie = c[0].Name + "=" + c[0].Value
		}
		fmt.Println(string(body))
	}
	mu.Lock()
	fmt.Println("rows:", len(db))
	mu.Unlock()
	// Output:
	// visit 1
	// visit 2
	// visit 3
	// rows: 1
}
