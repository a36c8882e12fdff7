package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// The no-op store functions other tests build FuncStores from.
func nopRead(context.Context, string) ([]byte, bool, error)     { return nil, false, nil }
func nopWrite(context.Context, string, []byte, time.Time) error { return nil }
func nopDestroy(context.Context, string) error                  { return nil }

// exampleKey signs the examples' cookies. A real key comes from a secret
// store: 32 or 64 random bytes.
var exampleKey = []byte("an-example-key-of-32-bytes-or-more!")

// A Manager with the in-memory store (nil) and the secure default cookie
// (__Host-sid, Secure, HttpOnly, SameSite=Lax), served over TLS to a client
// with a cookie jar, as a browser would be: the visits count up, signing in
// gives a new session ID, signing out deletes the session and its cookie.
func ExampleManager_Handler() {
	m, err := core.New(nil, core.Config{Keys: [][]byte{exampleKey}})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "visits")
		s.Set("visits", n+1)
		user, _ := core.Get[string](s, "user")
		fmt.Fprintf(w, "visit %d, user %q", n+1, user)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Regenerate() // a new ID at every privilege change
		s.Set("user", "alice")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Destroy()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	srv := httptest.NewTLSServer(m.Handler(mux))
	defer srv.Close()

	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	u, _ := url.Parse(srv.URL)
	cookie := func() string {
		for _, c := range client.Jar.Cookies(u) {
			return c.Value
		}
		return ""
	}
	show := func(res *http.Response, err error) {
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(string(body))
	}

	show(client.Get(srv.URL))
	show(client.Get(srv.URL))
	anonymous := cookie()
	show(client.Post(srv.URL+"/login", "", nil)) // redirected to /
	loggedIn := cookie()
	fmt.Println("new ID after login:", loggedIn != anonymous)
	show(client.Post(srv.URL+"/logout", "", nil)) // redirected to /: a new session
	fmt.Println("new ID after logout:", cookie() != loggedIn && cookie() != "")
	// Output:
	// visit 1, user ""
	// visit 2, user ""
	// visit 3, user "alice"
	// new ID after login: true
	// visit 1, user ""
	// new ID after logout: true
}

// ExampleManager_Handler_headerToken carries the session token in a header
// instead of a cookie, for API clients: the client keeps the token the
// server last sent and sends it back; a response with the header present but
// empty (the logout) tells the client to forget it.
func ExampleManager_Handler_headerToken() {
	m, err := core.New(nil, core.Config{
		Keys:       [][]byte{exampleKey},
		Transport:  core.TransportHeader,
		HeaderName: "Session-Token", // the default
	})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	api := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if r.Method == http.MethodDelete {
			s.Destroy()
			return
		}
		n, _ := core.Get[int](s, "calls")
		s.Set("calls", n+1)
		fmt.Fprintf(w, "call %d", n+1)
	}))
	srv := httptest.NewServer(api)
	defer srv.Close()

	token := ""
	call := func(method string) {
		req, _ := http.NewRequest(method, srv.URL, nil)
		if token != "" {
			req.Header.Set("Session-Token", token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		// Only a response that carries the header changes the token.
		switch v, sent := res.Header["Session-Token"]; {
		case !sent:
			fmt.Printf("%s %q: no header, keep the token\n", method, body)
		case v[0] == "":
			token = ""
			fmt.Printf("%s %q: empty header, forget the token\n", method, body)
		default:
			token = v[0]
			fmt.Printf("%s %q: a token, send it from now on\n", method, body)
		}
	}
	call(http.MethodPost)
	call(http.MethodPost)
	call(http.MethodDelete)
	fmt.Printf("token after logout: %q\n", token)
	// Output:
	// POST "call 1": a token, send it from now on
	// POST "call 2": no header, keep the token
	// DELETE "": empty header, forget the token
	// token after logout: ""
}

// mapStore is a session store written as a Go type: the three required
// methods of core.Store, and Touch, which the Manager finds by type
// assertion and uses to extend an unchanged session's expiry without
// rewriting it. A real store would talk to a database; the rules are the
// same: an absent or expired record is found=false with a nil error, an
// error is a real failure (the request gets 503), and data must be copied.
type mapStore struct {
	mu   sync.Mutex
	rows map[string]row
}

type row struct {
	data   []byte
	expiry time.Time
}

var (
	_ core.Store   = (*mapStore)(nil)
	_ core.Toucher = (*mapStore)(nil)
)

func (s *mapStore) Read(ctx context.Context, id string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[id]
	if !ok || time.Now().After(r.expiry) {
		return nil, false, nil
	}
	return append([]byte(nil), r.data...), true, nil
}

func (s *mapStore) Write(ctx context.Context, id string, data []byte, expiry time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[id] = row{append([]byte(nil), data...), expiry}
	return nil
}

func (s *mapStore) Destroy(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rows, id)
	return nil
}

func (s *mapStore) Touch(ctx context.Context, id string, expiry time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.rows[id]; ok {
		r.expiry = expiry
		s.rows[id] = r
	}
	return nil
}

func (s *mapStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}

// A custom store passed to New. Every store but the default in-memory one
// needs Keys: a random per-process key would log everyone out on a restart.
func Example_customStore() {
	store := &mapStore{rows: map[string]row{}}
	m, err := core.New(store, core.Config{Keys: [][]byte{exampleKey}})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	srv := httptest.NewTLSServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "visits")
		s.Set("visits", n+1)
		fmt.Fprintf(w, "visit %d", n+1)
	})))
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	for range 3 {
		res, err := client.Get(srv.URL)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(string(body))
	}
	fmt.Println("records in the store:", store.len())

	_, err = core.New(store, core.Config{})
	fmt.Println(err != nil)
	// Output:
	// visit 1
	// visit 2
	// visit 3
	// records in the store: 1
	// true
}

// table stands for the database a PHP save handler talks to.
type table struct {
	mu   sync.Mutex
	rows map[string]row
}

func (t *table) Get(id string) ([]byte, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.rows[id]
	if !ok || time.Now().After(r.expiry) {
		return nil, false, nil
	}
	return append([]byte(nil), r.data...), true, nil
}

func (t *table) Set(id string, data []byte, expiry time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows[id] = row{append([]byte(nil), data...), expiry}
	return nil
}

func (t *table) Del(id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.rows, id)
	return nil
}

func (t *table) Purge(now time.Time) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id, r := range t.rows {
		if now.After(r.expiry) {
			delete(t.rows, id)
			n++
		}
	}
	return n, nil
}

func (t *table) Has(id string) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.rows[id]
	return ok && !time.Now().After(r.expiry), nil
}

func (t *table) Expire(id string, expiry time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r, ok := t.rows[id]; ok {
		r.expiry = expiry
		t.rows[id] = r
	}
	return nil
}

// A PHP save handler ported function by function with FuncStore. The PHP
// original:
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
	db := &table{rows: map[string]row{}}
	store, err := core.FuncStore(core.Funcs{
		Read:    func(ctx context.Context, id string) ([]byte, bool, error) { return db.Get(id) },
		Write:   func(ctx context.Context, id string, data []byte, exp time.Time) error { return db.Set(id, data, exp) },
		Destroy: func(ctx context.Context, id string) error { return db.Del(id) },
		GC:      func(ctx context.Context, now time.Time) (int, error) { return db.Purge(now) },
		Exists:  func(ctx context.Context, id string) (bool, error) { return db.Has(id) },
		Touch:   func(ctx context.Context, id string, exp time.Time) error { return db.Expire(id, exp) },
		// Open, Close and CreateID are nil: absent, so the Manager uses its own.
	})
	if err != nil {
		panic(err)
	}
	m, err := core.New(store, core.Config{Keys: [][]byte{exampleKey}})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	srv := httptest.NewTLSServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "visits")
		s.Set("visits", n+1)
		fmt.Fprintf(w, "visit %d", n+1)
	})))
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	for range 3 {
		res, err := client.Get(srv.URL)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(string(body))
	}
	db.mu.Lock()
	fmt.Println("rows:", len(db.rows))
	db.mu.Unlock()
	// Output:
	// visit 1
	// visit 2
	// visit 3
	// rows: 1
}
