package storetest

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"
)

// RequireEnv returns the value of the environment variable name, which
// tells a test where its server is (a Redis address, a PostgreSQL DSN).
// Without it the test cannot run: outside CI it skips with a loud
// "SKIPPING" line, and in CI (CI set to anything) it fails, because there
// a missing server is a broken pipeline, not a choice.
func RequireEnv(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	msg := name + " is not set, so this test has no server to run against" +
		" (sessionkit's scripts/services.sh start DIR && . DIR/env sets it for its own stores)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING: " + msg)
	return ""
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789,-"

// NewID returns a fresh random ID of 43 characters from [A-Za-z0-9,-], the
// shape of a default core ID, so tests sharing a backend never collide.
func NewID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 43)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("storetest: crypto/rand: %v", err)
	}
	for i := range b {
		b[i] = idAlphabet[b[i]&63]
	}
	return string(b)
}

// Context returns a context for a test's store calls: it ends when t ends
// or after a minute, so a hanging store fails the test instead of stalling
// the run.
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
