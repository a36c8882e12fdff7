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
	// A nil store is the in-memory store. The key comes from a secret
	// store in a real app: 32 or 64 random bytes.
	key := []byte("an-example-key-of-32-bytes-or-more!")
	m, err := core.New(nil, core.Config{Keys: [][]byte{key}})
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
	srv := httptest.NewTLSServer(e) // the default cookie is Secure
	defer srv.Close()

	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
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
