package demo

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// Password is the demo's one password, shown on the login page. A real
// app checks a password hash from its user store.
const Password = "demo"

// Session keys the demo uses.
const (
	keyUser   = "user"
	keyVisits = "visits"
)

//go:embed templates/*.html templates/favicon.svg
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"in":    func(t time.Time) string { return "in " + human(time.Until(t)) },
	"human": human,
}).ParseFS(files, "templates/*.html"))

// human writes d the way a person says it: 7 days, 30 minutes.
func human(d time.Duration) string {
	unit := func(n int64, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	switch d = d.Round(time.Second); {
	case d >= 48*time.Hour:
		return unit(int64((d+12*time.Hour)/(24*time.Hour)), "day")
	case d >= 2*time.Hour:
		return unit(int64((d+30*time.Minute)/time.Hour), "hour")
	case d >= 2*time.Minute:
		return unit(int64((d+30*time.Second)/time.Minute), "minute")
	}
	return unit(int64(d/time.Second), "second")
}

var favicon = func() []byte {
	b, err := files.ReadFile("templates/favicon.svg")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}()

// Response is what a page handler answers: a redirect (after a POST) or
// a body.
type Response struct {
	// Redirect, if set, is where to send the browser (303 See Other).
	Redirect string
	// Body is the content to send (200 OK) of type ContentType.
	Body        []byte
	ContentType string
}

// ContentType is the type of the demo's HTML pages.
const ContentType = "text/html; charset=utf-8"

// Form returns a form field of the request.
type Form func(key string) string

// Route is one page of the demo.
type Route struct {
	Method string
	Path   string
	Handle func(s *core.Session, form Form) Response
}

// Routes returns the demo's pages as served by framework (named on every
// page). The forms post without a CSRF token: the session cookie is
// SameSite=Lax, so browsers do not send it with a cross-site POST. A real
// app adds a token as well.
func Routes(framework string) []Route {
	p := site{framework: framework}
	return []Route{
		{http.MethodGet, "/", p.home},
		{http.MethodPost, "/login", p.login},
		{http.MethodPost, "/logout", p.logout},
		{http.MethodGet, "/signed-out", p.signedOut},
		{http.MethodGet, "/session", p.session},
		// The browser asks for it on every page. It never touches the
		// session, so it is not a visit and costs no store call.
		{http.MethodGet, "/favicon.ico", func(*core.Session, Form) Response {
			return Response{Body: favicon, ContentType: "image/svg+xml"}
		}},
	}
}

type site struct{ framework string }

// Flash kinds, stored as the message's first byte: errors and
// confirmations look different on the page.
const (
	flashOK    = "+"
	flashError = "!"
)

type flash struct {
	Error bool
	Text  string
}

// view is the data every page template gets.
type view struct {
	Title     string
	Framework string
	User      string
	Visits    int
	Flashes   []flash
	Next      []template.HTML // what to try next
	Info      *sessionInfo
}

type sessionInfo struct {
	New                                       bool
	IDHash                                    string
	Created, LastSeen, IdleDeadline, Deadline time.Time
	Remembered                                bool
	IdleTimeout                               time.Duration
	Values                                    []value
}

type value struct{ Key, Value string }

func render(name string, v view) Response {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, v); err != nil {
		b.Reset()
		template.HTMLEscape(&b, []byte("template error: "+err.Error()))
	}
	return Response{Body: b.Bytes(), ContentType: ContentType}
}

func (p site) view(s *core.Session, title string) view {
	user, _ := core.Get[string](s, keyUser)
	n, _ := core.Get[int](s, keyVisits)
	v := view{Title: title, Framework: p.framework, User: user, Visits: n}
	for _, msg := range s.Flashes() {
		f := flash{Error: strings.HasPrefix(msg, flashError), Text: msg}
		if f.Error || strings.HasPrefix(msg, flashOK) {
			f.Text = msg[1:]
		}
		v.Flashes = append(v.Flashes, f)
	}
	return v
}

func (p site) home(s *core.Session, _ Form) Response {
	n, _ := core.Get[int](s, keyVisits)
	s.Set(keyVisits, n+1)
	v := p.view(s, "sessionkit demo")
	if v.User == "" {
		v.Next = []template.HTML{
			"Reload the page: the visit counter lives in your session on the server; the cookie holds only a signed ID.",
			`Sign in with any name and the password "demo" — or a wrong one, to see an error.`,
			`Open <a href="/session">Session</a> to see what the server keeps.`,
		}
	} else {
		v.Next = []template.HTML{
			`Open <a href="/session">Session</a>: the ID hash changed when you signed in, the visits did not.`,
			"Sign out: the session is deleted on the server and the cookie expired.",
		}
	}
	return render("home.html", v)
}

var validUser = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

func (p site) login(s *core.Session, form Form) Response {
	user := form("user")
	switch {
	case !validUser.MatchString(user):
		s.AddFlash(flashError + "A user name is 1 to 32 letters, digits, '.', '_' or '-'.")
	case form("password") != Password:
		outcome := "You are not signed in."
		if current, _ := core.Get[string](s, keyUser); current != "" {
			outcome = "You are still signed in as " + current + "."
		}
		s.AddFlash(flashError + `Wrong password for ` + user + ` (it is "` + Password + `"). ` + outcome)
	default:
		// A new ID at every privilege change (OWASP: session fixation).
		s.Regenerate()
		s.SetUser(user)
		s.Set(keyUser, user)
		s.Remember(form("remember") == "on")
		s.AddFlash(flashOK + "Welcome, " + user + ". You are signed in; your session has a new ID.")
	}
	return Response{Redirect: "/"}
}

func (p site) logout(s *core.Session, _ Form) Response {
	s.Destroy()
	return Response{Redirect: "/signed-out"}
}

func (p site) signedOut(s *core.Session, _ Form) Response {
	if user, _ := core.Get[string](s, keyUser); user != "" {
		return Response{Redirect: "/"} // still signed in: nothing to confirm
	}
	v := view{Title: "Signed out", Framework: p.framework}
	v.Next = []template.HTML{
		"Press Back and reload: the old session is gone for good; you get a new one, counting from 1.",
		`Go <a href="/">Home</a> and sign in again: the new session gets yet another ID.`,
	}
	return render("signed-out.html", v)
}

func (p site) session(s *core.Session, _ Form) Response {
	v := p.view(s, "Your session")
	info := &sessionInfo{
		New:         s.IsNew(),
		IDHash:      s.IDHash(),
		Created:     s.Created(),
		LastSeen:    s.LastSeen(),
		Deadline:    s.Deadline(),
		Remembered:  s.Remembered(),
		IdleTimeout: IdleTimeout,
	}
	if info.Remembered {
		info.IdleTimeout = RememberIdleTimeout
	}
	if !info.New {
		// Every request that loads the session pushes its idle expiry
		// forward (at most once a minute), up to the absolute deadline.
		info.IdleDeadline = time.Now().Add(info.IdleTimeout)
		if info.IdleDeadline.After(info.Deadline) {
			info.IdleDeadline = info.Deadline
		}
	}
	for _, k := range s.Keys() {
		val, _ := s.Get(k)
		info.Values = append(info.Values, value{k, fmt.Sprintf("%v (%T)", val, val)})
	}
	v.Info = info
	if info.New {
		v.Next = []template.HTML{`Go <a href="/">Home</a>: the first visit creates your session.`}
	} else {
		v.Next = []template.HTML{
			"Reload: “last written” stays put, since nothing changed (lazy write), while the idle deadline moves.",
			`Go <a href="/">Home</a> and come back: the visit was written, so “last written” moved.`,
		}
		if v.User == "" {
			v.Next = append(v.Next, "Sign in and come back: the ID hash changes, the values stay.")
		}
	}
	return render("session.html", v)
}
