package core_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// TestHeldPlantedRequestNeverReadsTheLogin is session fixation through a
// request the attacker holds open: with a planted pre-login token the
// attacker starts POST /comment before the victim logs in and holds its body
// back until well after the login. The request was "under way" when the ID
// moved, but it reaches for its session too late to be a parallel tab's: it
// must neither read the logged-in session nor write into it. A request of
// the old token that reaches its session at once still follows the move.
func TestHeldPlantedRequestNeverReadsTheLogin(t *testing.T) {
	for _, locking := range []bool{false, true} {
		name := "unlocked"
		if locking {
			name = "locking"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, core.Config{Locking: locking}, func(mux *http.ServeMux) {
				counterRoutes(mux)
				mux.HandleFunc("/comment", func(w http.ResponseWriter, r *http.Request) {
					body, err := io.ReadAll(r.Body) // the form first, as handlers do
					if err != nil {
						http.Error(w, err.Error(), http.StatusBadRequest)
						return
					}
					s, _ := core.FromContext(r.Context())
					s.Set("comment", string(body))
					u, _ := core.Get[string](s, "user")
					io.WriteString(w, "user="+u)
				})
			})
			h.get("/inc") // the planted session: the attacker's and now the victim's
			planted := h.cookie()
			if planted == "" {
				t.Fatal("no session cookie")
			}

			pr, pw := io.Pipe()
			req, _ := http.NewRequest("POST", h.srv.URL+"/comment", pr)
			req.Header.Set("Cookie", "sid="+planted)
			req.ContentLength = -1
			type answer struct {
				body      string
				setCookie []string
				err       error
			}
			held := make(chan answer, 1)
			go func() {
				res, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					held <- answer{err: err}
					return
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				held <- answer{body: strings.TrimSpace(string(b)), setCookie: res.Header.Values("Set-Cookie")}
			}()
			if _, err := pw.Write([]byte("first")); err != nil { // the request is under way
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)

			if code, body, _ := h.get("/login"); code != 200 || body != "ok" {
				t.Fatalf("login: %d %q", code, body)
			}
			if h.cookie() == planted {
				t.Fatal("the login kept the planted ID")
			}
			// A request of the old token reaching its session at once (a
			// parallel tab) follows the move: covered by the lifecycle suites.
			// This one waits past the window before its body ends.
			time.Sleep(1500 * time.Millisecond)
			pw.Close()
			a := <-held
			if a.err != nil {
				t.Fatal(a.err)
			}
			if a.body != "user=" {
				t.Fatalf("the held planted request read the logged-in session: %q", a.body)
			}
			for _, c := range a.setCookie {
				if strings.Contains(c, h.cookie()) {
					t.Fatalf("the held planted request was handed the logged-in token: %q", c)
				}
			}
			// Its write went to a session of its own, never into the victim's.
			if code, body, _ := h.get("/user"); code != 200 || body != "alice" {
				t.Fatalf("victim after the held request: %d %q", code, body)
			}
			var comment string
			h.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := core.FromContext(r.Context())
				comment, _ = core.Get[string](s, "comment")
			})).ServeHTTP(newRecorder(), cookieRequest(t, h.srv.URL, "sid="+h.cookie()))
			if comment != "" {
				t.Fatalf("the held planted request wrote into the logged-in session: %q", comment)
			}
		})
	}
}

func cookieRequest(t *testing.T, url, cookie string) *http.Request {
	t.Helper()
	r, err := http.NewRequest("GET", url+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Cookie", cookie)
	return r
}
