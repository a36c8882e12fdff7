package ginsession_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/adapters/adaptertest"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	"github.com/sessionkit/sessionkit/core"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// app maps the scenario routes onto a Gin engine behind the middleware.
func app(m *core.Manager, routes adaptertest.Routes) *gin.Engine {
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	for _, rt := range routes {
		h := rt.Handle
		r.GET(rt.Path, func(c *gin.Context) {
			c.Header("Content-Type", "text/plain; charset=utf-8")
			h(adaptertest.Request{Session: ginsession.Get(c), Context: c.Request.Context(), SetHeader: c.Header}, c.Writer)
		})
	}
	return r
}

func TestScenarios(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, m *core.Manager, routes adaptertest.Routes) string {
		srv := httptest.NewServer(app(m, routes))
		t.Cleanup(srv.Close)
		return srv.URL
	})
}

func newManager(t *testing.T, cfg core.Config) *core.Manager {
	t.Helper()
	cfg.Cookie.Insecure = true
	m, err := core.New(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestGinRendering checks Gin's own response helpers: each sends the
// headers itself, and the cookie must be among them.
func TestGinRendering(t *testing.T) {
	m := newManager(t, core.Config{})
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.GET("/string", func(c *gin.Context) {
		ginsession.Get(c).Set("k", "v")
		c.String(http.StatusCreated, "created")
	})
	r.GET("/json", func(c *gin.Context) {
		ginsession.Get(c).Set("k", "v")
		c.JSON(http.StatusOK, gin.H{"ok": true})
	})
	r.GET("/status-only", func(c *gin.Context) {
		ginsession.Get(c).Set("k", "v")
		c.Status(http.StatusNoContent)
	})
	r.GET("/abort", func(c *gin.Context) {
		ginsession.Get(c).Set("k", "v")
		c.AbortWithStatus(http.StatusAccepted)
	})
	r.GET("/redirect", func(c *gin.Context) {
		ginsession.Get(c).Set("k", "v")
		c.Redirect(http.StatusFound, "/string")
	})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/string", http.StatusCreated},
		{"/json", http.StatusOK},
		{"/status-only", http.StatusNoContent},
		{"/abort", http.StatusAccepted},
		{"/redirect", http.StatusFound},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if sc := w.Header().Values("Set-Cookie"); len(sc) != 1 || !strings.HasPrefix(sc[0], "sid=") {
				t.Fatalf("Set-Cookie %q, want the session cookie", sc)
			}
		})
	}
}

// TestWithoutMiddleware checks that a handler reached without the
// middleware gets a nil session that is safe to use, not a panic.
func TestWithoutMiddleware(t *testing.T) {
	r := gin.New()
	r.GET("/", func(c *gin.Context) {
		s := ginsession.Get(c)
		s.Set("k", "v")
		_, ok := s.Get("k")
		_, err := core.FromContext(c.Request.Context())
		if s != nil || ok || err == nil {
			c.String(http.StatusInternalServerError, "unexpected session")
			return
		}
		c.String(http.StatusOK, "no session")
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusOK || w.Body.String() != "no session" {
		t.Fatalf("got %d %q", w.Code, w.Body.String())
	}
}

// TestHijackWithoutHijacker: Gin's ResponseWriter always has Hijack, even
// over a server writer that cannot hijack (HTTP/2). Through a real
// listener whose writer hides http.Hijacker, Hijack must answer
// http.ErrNotSupported instead of panicking in Gin's writer, and the
// response must still carry the session; over an HTTP/1 writer it hijacks.
func TestHijackWithoutHijacker(t *testing.T) {
	for _, tc := range []struct {
		name string
		bare bool // hide the server writer's optional interfaces
	}{
		{"HTTP/1 writer", false},
		{"bare writer", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, core.Config{})
			r := gin.New()
			r.Use(ginsession.Middleware(m))
			r.GET("/", func(c *gin.Context) {
				ginsession.Get(c).Set("k", "v")
				conn, buf, err := http.NewResponseController(c.Writer).Hijack()
				if err != nil {
					c.String(http.StatusOK, "hijack: not supported=%v", errors.Is(err, http.ErrNotSupported))
					return
				}
				defer conn.Close()
				_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
				_ = buf.Flush()
			})
			var h http.Handler = r
			if tc.bare {
				h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					r.ServeHTTP(struct{ http.ResponseWriter }{w}, req)
				})
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			res, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			want := "hijacked"
			if tc.bare {
				want = "hijack: not supported=true"
				if len(res.Header.Values("Set-Cookie")) != 1 {
					t.Fatalf("Set-Cookie %q, want the session cookie", res.Header.Values("Set-Cookie"))
				}
			}
			if res.StatusCode != http.StatusOK || string(b) != want {
				t.Fatalf("got %d %q, want 200 %q", res.StatusCode, b, want)
			}
		})
	}
}
