package main

import (
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/phpcodec"
)

// routes are the Go service's pages. PHP's pages (php/*.php) use the same
// session keys: "user" (a string), "cart" (a list of strings), "n" (an
// int); flash messages live where sessionkit keeps them in PHP's format,
// "__sessionkit_flashes" (a list of strings). Pages answer in plain text.
func routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /whoami", whoami)
	mux.HandleFunc("POST /cart", addToCart)
	mux.HandleFunc("POST /logout", logout)
	mux.HandleFunc("GET /flash", showFlashes)
	mux.HandleFunc("POST /flash", addFlash)
	mux.HandleFunc("GET /counter", showCounter)
	mux.HandleFunc("POST /counter", count)
	mux.HandleFunc("GET /types", showTypes)
	mux.HandleFunc("POST /types", setTypes)
	return mux
}

// session returns the request's session. If it cannot be loaded (the
// store is down, PHP holds the lock past LockTimeout, the data is not in
// PHP's configured format), the middleware answers with the error (503,
// or 500 for undecodable data) instead of the page.
func session(r *http.Request) *core.Session {
	s, _ := core.FromContext(r.Context())
	return s
}

// whoami is PHP's cart.php in Go: who is logged in (PHP's login.php set
// "user") and what is in the cart.
//
// The pages that only read do not call s.ReadOnly(), PHP's read_and_close:
// a read without the lock still waits for PHP's flock on a files session
// (so as never to see a half-written file), and only the request's context
// bounds that wait, where LockTimeout bounds a wait for the lock.
func whoami(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	user, ok := core.Get[string](s, "user")
	if !ok {
		user = "anonymous"
	}
	fmt.Fprintf(w, "user: %s\n", user)
	cart, _ := core.Get[[]any](s, "cart") // a PHP list decodes as []any
	for _, item := range cart {
		fmt.Fprintf(w, "cart: %v\n", item)
	}
}

func addToCart(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	cart, _ := core.Get[[]any](s, "cart")
	s.Set("cart", append(cart, r.PostFormValue("item")))
	fmt.Fprintf(w, "cart: %d items\n", len(cart)+1)
}

// logout ends the session for both sides: its record is deleted and the
// PHPSESSID cookie removed.
func logout(w http.ResponseWriter, r *http.Request) {
	session(r).Destroy()
	fmt.Fprintln(w, "logged out")
}

func showFlashes(w http.ResponseWriter, r *http.Request) {
	for _, msg := range session(r).Flashes() { // read once, by either side
		fmt.Fprintf(w, "flash: %s\n", msg)
	}
}

func addFlash(w http.ResponseWriter, r *http.Request) {
	session(r).AddFlash(r.PostFormValue("msg"))
	fmt.Fprintln(w, "flash added")
}

func showCounter(w http.ResponseWriter, r *http.Request) {
	n, _ := core.Get[int64](session(r), "n")
	fmt.Fprintf(w, "%d\n", n)
}

// count adds one to "n". PHP's ints decode as int64; Go's ints, whatever
// their size, reach PHP as int.
func count(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	n, _ := core.Get[int64](s, "n")
	s.Set("n", n+1)
	fmt.Fprintf(w, "%d\n", n+1)
}

// showTypes prints what PHP's types.php stored, as Go sees it.
func showTypes(w http.ResponseWriter, r *http.Request) {
	v, _ := session(r).Get("from_php")
	fmt.Fprintln(w, describe(v))
}

// setTypes stores one value of each kind for PHP's types.php to print.
func setTypes(w http.ResponseWriter, r *http.Request) {
	session(r).Set("from_go", map[string]any{
		"bool":   false,
		"float":  math.Pi,
		"int":    42,
		"list":   []string{"x", "y"},
		"map":    map[string]any{"k": "v"},
		"nil":    nil,
		"string": `a "quoted" | string`,
	})
	fmt.Fprintln(w, "set")
}

// describe writes a decoded PHP value with its Go types: int is int64,
// float float64, a list []any, any other array *phpcodec.Array (its keys
// in PHP's order).
func describe(v any) string {
	var parts []string
	switch v := v.(type) {
	case nil:
		return "nil"
	case []any:
		for _, x := range v {
			parts = append(parts, describe(x))
		}
		return "[]any{" + strings.Join(parts, ", ") + "}"
	case *phpcodec.Array:
		for _, e := range v.Entries {
			parts = append(parts, fmt.Sprintf("%#v: %s", e.Key, describe(e.Value)))
		}
		return "*phpcodec.Array{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("%T(%#v)", v, v)
}
