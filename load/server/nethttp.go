package main

import (
	"context"
	"io"
	"net"
	"net/http"

	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/sessionkit/sessionkit/core"
)

var textPlain = []string{"text/plain; charset=utf-8"}

// serveNetHTTP serves a ServeMux, with sessionkit's m.Handler or scs's
// LoadAndSave (memstore) around it.
func serveNetHTTP(ln net.Listener, lib string) error {
	n := bare[*http.Request]()
	wrap := func(h http.Handler) http.Handler { return h }
	switch lib {
	case "sessionkit", "sessionkit-locking":
		m := manager(lib)
		wrap = m.Handler
		n = counter[*http.Request]{
			get: func(r *http.Request) int {
				s, _ := core.FromContext(r.Context())
				v, _ := core.Get[int](s, "n")
				return v
			},
			set: func(r *http.Request, v int) {
				s, _ := core.FromContext(r.Context())
				s.Set("n", v)
			},
		}
	case "cookie-only":
		wrap = func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				onlyHeaders(r.Header, w.Header())
				h.ServeHTTP(w, r)
			})
		}
	case "floor":
		wrap = func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				e := floorLookup(floorCookie(r.Header.Get("Cookie")))
				onlyHeaders(r.Header, w.Header())
				h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), floorKey{}, e)))
			})
		}
		n.get = func(r *http.Request) int { return floorN(r.Context().Value(floorKey{})) }
	case "peer":
		sm := scs.New()
		sm.Store = scsmem.New()
		wrap = sm.LoadAndSave
		n = counter[*http.Request]{
			get: func(r *http.Request) int { return sm.GetInt(r.Context(), "n") },
			set: func(r *http.Request, v int) { sm.Put(r.Context(), "n", v) },
		}
	}
	// The handlers answer as Gin's c.String, Echo's c.String and Fiber's
	// SendString do: with a Content-Type of their own, as real handlers
	// do, rather than leaving net/http to sniff one.
	text := func(w http.ResponseWriter, v int) {
		w.Header()["Content-Type"] = textPlain
		_, _ = io.WriteString(w, itoa(v))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		text(w, n.get(r))
	})
	mux.HandleFunc("GET /write", func(w http.ResponseWriter, r *http.Request) {
		v := n.get(r) + 1
		n.set(r, v)
		text(w, v)
	})
	return serveHTTP(ln, wrap(mux))
}
