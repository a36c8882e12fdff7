// Command nethttp is the sessionkit demo on plain net/http: a visit counter kept in
// the session, sign in (the session ID is regenerated; a wrong password is
// an error), the session page (values, created, last written, idle and
// absolute deadlines, remember me), sign out (the session is destroyed, and
// a page confirms it). The pages are examples/internal/demo's.
//
//	cd examples && go run ./nethttp [-addr 127.0.0.1:8080]
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// newHandler maps the demo's pages onto a ServeMux behind the session
// middleware.
func newHandler(m *core.Manager) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range demo.Routes("net/http") {
		handle := rt.Handle
		pattern := rt.Method + " " + rt.Path
		if rt.Path == "/" {
			pattern += "{$}" // the home page only, not every path
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s, err := core.FromContext(r.Context())
			if err != nil {
				http.Error(w, "no session middleware", http.StatusInternalServerError)
				return
			}
			res := handle(s, r.PostFormValue)
			if res.Redirect != "" {
				http.Redirect(w, r, res.Redirect, http.StatusSeeOther)
				return
			}
			w.Header().Set("Content-Type", res.ContentType)
			w.Write(res.Body)
		})
	}
	return m.Handler(mux)
}

func main() {
	addr := flag.String("addr", demo.DefaultAddr, "listen address")
	flag.Parse()
	m, err := demo.NewManager()
	if err != nil {
		log.Fatal(err)
	}
	err = demo.ListenAndServe(*addr, newHandler(m))
	m.Close()
	if err != nil {
		log.Fatal(err)
	}
}
