package demo

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"regexp"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// Password is the demo's one password, shown on the login page. A real
// app checks a password hash from its user store.
const Password = "demo"

// Session keys the demo uses.
const (
	keyUser  = "user"
	keyCount = "count"
)

//go:embed templates/*.html
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("2006-01-02 15:04:05 MST")
	},
}).ParseFS(files, "templates/*.html"))

// Response is what a page handler answers: a redirect (after a POST) or
// an HTML page.
type Response struct {
	// Redirect, if set, is where to send the browser (303 See Other).
	Redirect string
	// HTML is the page to send (200 OK, text/html).
	HTML []byte
}

// ContentType is the type of Response.HTML.
const ContentType = "text/html; charset=utf-8"

// Form returns a form field of the request.
type Form func(key string) string

// Route is one page of the demo.
type Route struct {
	Method string
	Path   string
	Handle func(s *core.Session, form Form) Response
}

// Routes returns the demo's pages. The forms post without a CSRF token:
// the session cookie is SameSite=Lax, so browsers do not send it with a
// cross-site POST. A real app adds a token as well.
func Routes() []Route {
	return []Route{
		{http.MethodGet, "/", home},
		{http.MethodPost, "/login", login},
		{http.MethodPost, "/logout", logout},
		{http.MethodPost, "/count", count},
		{http.MethodGet, "/session", info},
	}
}

// view is the data every page template gets.
type view struct {
	Title   string
	User    string
	Count   int
	Flashes []string
	Info    *sessionInfo
}

type sessionInfo struct {
	New                       bool
	IDHash                    string
	Created, LastSeen, Expiry time.Time
	Remembered                bool
	Keys                      []string
}

func render(name string, v view) Response {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, v); err != nil {
		b.Reset()
		template.HTMLEscape(&b, []byte("template error: "+err.Error()))
	}
	return Response{HTML: b.Bytes()}
}

func pageView(s *core.Session, title string) view {
	user, _ := core.Get[string](s, keyUser)
	n, _ := core.Get[int](s, keyCount)
	return view{Title: title, User: user, Count: n, Flashes: s.Flashes()}
}

func home(s *core.Session, _ Form) Response {
	return render("home.html", pageView(s, "sessionkit demo"))
}

var validUser = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

func login(s *core.Session, form Form) Response {
	user := form("user")
	switch {
	case !validUser.MatchString(user):
		s.AddFlash("A user name is 1 to 32 letters, digits, '.', '_' or '-'.")
	case form("password") != Password:
		s.AddFlash("Wrong password (it is \"" + Password + "\").")
	default:
		// A new ID at every privilege change (OWASP: session fixation).
		s.Regenerate()
		s.SetUser(user)
		s.Set(keyUser, user)
		s.Remember(form("remember") == "on")
		s.AddFlash("Welcome, " + user + ".")
	}
	return Response{Redirect: "/"}
}

func logout(s *core.Session, _ Form) Response {
	s.Destroy()
	return Response{Redirect: "/"}
}

func count(s *core.Session, _ Form) Response {
	n, _ := core.Get[int](s, keyCount)
	s.Set(keyCount, n+1)
	return Response{Redirect: "/"}
}

func info(s *core.Session, _ Form) Response {
	v := pageView(s, "Your session")
	v.Info = &sessionInfo{
		New:        s.IsNew(),
		IDHash:     s.IDHash(),
		Created:    s.Created(),
		LastSeen:   s.LastSeen(),
		Expiry:     s.Deadline(),
		Remembered: s.Remembered(),
		Keys:       s.Keys(),
	}
	return render("session.html", v)
}
