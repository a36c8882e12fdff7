package demo

import (
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// KeyEnv names the environment variable holding the cookie signing key
// (at least 32 bytes). Without it a random key is used, and sessions end
// when the demo stops.
const KeyEnv = "SESSIONKIT_KEY"

// DefaultAddr is where the demos listen unless told otherwise (-addr).
const DefaultAddr = "127.0.0.1:8080"

// The demos' timeouts (core's defaults, spelled out so that the session
// page can show the idle deadline they make).
const (
	IdleTimeout             = 30 * time.Minute
	AbsoluteTimeout         = 12 * time.Hour
	RememberIdleTimeout     = 7 * 24 * time.Hour
	RememberAbsoluteTimeout = 30 * 24 * time.Hour
)

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
		// The demos talk plain HTTP, where a browser drops a Secure cookie
		// unless the address is localhost/127.0.0.1, so the cookie goes
		// without Secure (and without the __Host- prefix that needs it):
		// the demo then also works from another machine on a trusted
		// network. Never do this behind a real domain: serve HTTPS and
		// keep the default.
		Cookie:                  core.CookieConfig{Insecure: true},
		IdleTimeout:             IdleTimeout,
		AbsoluteTimeout:         AbsoluteTimeout,
		RememberIdleTimeout:     RememberIdleTimeout,
		RememberAbsoluteTimeout: RememberAbsoluteTimeout,
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
