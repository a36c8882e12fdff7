package ginsession_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	"github.com/sessionkit/sessionkit/core"
)

func Example() {
	gin.SetMode(gin.ReleaseMode)
	// A nil store is the in-memory store. Insecure drops the cookie's
	// Secure attribute because this example talks plain HTTP.
	m, err := core.New(nil, core.Config{Cookie: core.CookieConfig{Insecure: true}})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.GET("/", func(c *gin.Context) {
		s := ginsession.Get(c)
		n, _ := core.Get[int](s, "visits")
		s.Set("visits", n+1)
		c.String(http.StatusOK, "visit %d", n+1)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for range 3 {
		res, err := client.Get(srv.URL)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}
