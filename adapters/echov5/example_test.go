package echov5session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/labstack/echo/v5"
	echov5session "github.com/sessionkit/sessionkit/adapters/echov5"
	"github.com/sessionkit/sessionkit/core"
)

func Example() {
	// A nil store is the in-memory store. Insecure drops the cookie's
	// Secure attribute because this example talks plain HTTP.
	m, err := core.New(nil, core.Config{Cookie: core.CookieConfig{Insecure: true}})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	e := echo.New()
	e.Use(echov5session.Middleware(m))
	e.GET("/", func(c *echo.Context) error {
		s := echov5session.Get(c)
		n, _ := core.Get[int](s, "visits")
		s.Set("visits", n+1)
		return c.String(http.StatusOK, fmt.Sprintf("visit %d", n+1))
	})
	srv := httptest.NewServer(e)
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
