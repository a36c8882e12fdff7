package fibersession_test

import (
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/gofiber/fiber/v2"
	fibersession "github.com/sessionkit/sessionkit/adapters/fiber"
	"github.com/sessionkit/sessionkit/core"
)

func Example() {
	// A nil store is the in-memory store. The key comes from a secret
	// store in a real app: 32 or 64 random bytes. The requests below go
	// through app.Test, so the cookie is carried by hand.
	key := []byte("an-example-key-of-32-bytes-or-more!")
	m, err := core.New(nil, core.Config{Keys: [][]byte{key}})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(fibersession.Middleware(m))
	app.Get("/", func(c *fiber.Ctx) error {
		s := fibersession.Get(c)
		n, _ := core.Get[int](s, "visits")
		s.Set("visits", n+1)
		return c.SendString(fmt.Sprintf("visit %d", n+1))
	})

	cookie := ""
	for range 3 {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := app.Test(req, -1)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if c := res.Cookies(); len(c) > 0 {
			cookie = c[0].Name + "=" + c[0].Value
		}
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}
