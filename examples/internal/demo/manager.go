package demo

import (
	"crypto/rand"
	"fmt"
	"log"
	"os"

	"github.com/sessionkit/sessionkit/core"
)

// KeyEnv names the environment variable holding the cookie signing key
// (at least 32 bytes). Without it a random key is used, and sessions end
// when the demo stops.
const KeyEnv = "SESSIONKIT_KEY"

// DefaultAddr is where the demos listen unless told otherwise (-addr).
const DefaultAddr = "127.0.0.1:8080"

// NewManager returns the demos' session manager: the memory store, a
// cookie signed with $SESSIONKIT_KEY (or a random key), logs to logger's
// default.
func NewManager() (*core.Manager, error) {
	key, err := signingKey()
	if err != nil {
		return nil, err
	}
	return core.New(nil, core.Config{
		Keys: [][]byte{key},
		// The demos talk plain HTTP on localhost, where a browser would
		// drop a Secure cookie, so the cookie goes without Secure (and
		// without the __Host- prefix that needs it). Never do this behind
		// a real domain: serve HTTPS and keep the default.
		Cookie: core.CookieConfig{Insecure: true},
	})
}

func signingKey() ([]byte, error) {
	if k := os.Getenv(KeyEnv); k != "" {
		if len(k) < 32 {
			return nil, fmt.Errorf("demo: %s must be at least 32 bytes, it has %d", KeyEnv, len(k))
		}
		return []byte(k), nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("demo: random signing key: %w", err)
	}
	log.Printf("demo: %s is not set; signing cookies with a random key (sessions end when the demo stops)", KeyEnv)
	return k, nil
}
