package adaptertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sessionkit/sessionkit/core"
)

// Request is what a route handler gets from the adapter.
type Request struct {
	// Session is the session as the adapter's getter returns it
	// (ginsession.Get(c), …).
	Session *core.Session
	// Context is the request's context.Context, where core.FromContext
	// must find the same session.
	Context context.Context
	// SetHeader sets a response header through the framework's own API.
	SetHeader func(key, value string)
}

// Writer is the response body a route writes to.
type Writer interface {
	io.Writer
	// Flush sends what was written so far to the client.
	Flush()
}

// Handler is a route's behaviour, written against the session alone.
type Handler func(r Request, w Writer)

// Route is one GET route of the scenario app.
type Route struct {
	Path   string
	Handle Handler
}

// Routes is the scenario app's route table. An adapter maps every entry to
// a GET route of its framework.
type Routes []Route

// counter is the value the routes count with.
const counter = "n"

// StandardRoutes returns the route table Run serves. Bodies are short
// "key=value" lines the suite checks.
func StandardRoutes() Routes {
	return Routes{
		{"/nop", func(r Request, w Writer) { io.WriteString(w, "nop") }},
		{"/new", func(r Request, w Writer) {
			r.Session.Set(counter, 1)
			io.WriteString(w, "n=1")
		}},
		{"/read", func(r Request, w Writer) { writeCounter(w, r.Session) }},
		{"/readonly", func(r Request, w Writer) {
			r.Session.ReadOnly()
			writeCounter(w, r.Session)
		}},
		{"/incr", func(r Request, w Writer) {
			n, _ := core.Get[int](r.Session, counter)
			r.Session.Set(counter, n+1)
			fmt.Fprintf(w, "n=%d", n+1)
		}},
		{"/regenerate", func(r Request, w Writer) {
			r.Session.Regenerate()
			io.WriteString(w, "regenerated")
		}},
		{"/destroy", func(r Request, w Writer) {
			r.Session.Destroy()
			io.WriteString(w, "destroyed")
		}},
		{"/remember", func(r Request, w Writer) {
			r.Session.Remember(true)
			io.WriteString(w, "remembered")
		}},
		{"/flash-set", func(r Request, w Writer) {
			r.Session.AddFlash("hello")
			io.WriteString(w, "flashed")
		}},
		{"/flash-get", func(r Request, w Writer) {
			io.WriteString(w, "flashes="+strings.Join(r.Session.Flashes(), ","))
		}},
		{"/context", func(r Request, w Writer) {
			s, err := core.FromContext(r.Context)
			switch {
			case err != nil:
				io.WriteString(w, "context: "+err.Error())
			case s != r.Session:
				io.WriteString(w, "context: another session")
			default:
				io.WriteString(w, "context: same")
			}
		}},
		// /headers sets headers of its own (an auth cookie, a redirect, a
		// custom header) and changes the session: when the session fails
		// none of them may reach the client.
		{"/headers", func(r Request, w Writer) {
			r.SetHeader("Set-Cookie", "auth=granted; Path=/")
			r.SetHeader("Location", "/account")
			r.SetHeader("X-Handler", "yes")
			n, _ := core.Get[int](r.Session, counter)
			r.Session.Set(counter, n+1)
			io.WriteString(w, "headers")
		}},
		// /late-new starts a session after the first byte went out, then
		// reports what Err says: a change that cannot be kept must show.
		{"/late-new", func(r Request, w Writer) {
			io.WriteString(w, "early;")
			w.Flush()
			r.Session.Set(counter, 1)
			fmt.Fprintf(w, "err=%v", r.Session.Err() != nil)
		}},
		// /stream changes the session and then writes its body in flushed
		// chunks: the commit must happen before the first chunk leaves.
		{"/stream", func(r Request, w Writer) {
			n, _ := core.Get[int](r.Session, counter)
			r.Session.Set(counter, n+1)
			for i := range streamChunks {
				fmt.Fprintf(w, "chunk%d;", i)
				w.Flush()
			}
		}},
		// /late changes the session after the first byte went out: the
		// store must still get the change (no header can carry it).
		{"/late", func(r Request, w Writer) {
			io.WriteString(w, "early;")
			w.Flush()
			n, _ := core.Get[int](r.Session, counter)
			r.Session.Set(counter, n+10)
			io.WriteString(w, "late")
		}},
	}
}

const streamChunks = 3

func writeCounter(w io.Writer, s *core.Session) {
	if n, ok := core.Get[int](s, counter); ok {
		fmt.Fprintf(w, "n=%d", n)
		return
	}
	io.WriteString(w, "n=none")
}

// Mux maps routes onto an http.ServeMux for the net/http middleware
// (core.Manager.Handler): the reference every adapter is compared with.
func Mux(routes Routes) *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.Handle
		mux.HandleFunc(rt.Path, func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			h(Request{Session: s, Context: r.Context(), SetHeader: w.Header().Set}, flushWriter{w})
		})
	}
	return mux
}

type flushWriter struct{ http.ResponseWriter }

func (w flushWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }
