package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The servers come from scripts/services.sh, which exports these.
const (
	envAddr         = "SESSIONKIT_REDIS_ADDR"
	envClusterAddrs = "SESSIONKIT_REDIS_CLUSTER_ADDRS"
	envBin          = "SESSIONKIT_REDIS_BIN"
)

// needEnv returns the variable's value. Without it the test skips loudly,
// or fails in CI (CI set), where the servers must be there.
func needEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	msg := name + " is not set: start the servers with `scripts/services.sh start DIR && . DIR/env`"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING REDIS TEST: " + msg)
	return ""
}

// clientOptions are short timeouts, so a dead server fails fast.
func clientOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:                  addr,
		DialTimeout:           time.Second,
		ReadTimeout:           2 * time.Second,
		WriteTimeout:          2 * time.Second,
		ContextTimeoutEnabled: true,
		PoolSize:              64,
	}
}

// singleClient returns a client of the standalone Redis, closed with t.
func singleClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(clientOptions(needEnv(t, envAddr)))
	t.Cleanup(func() { c.Close() })
	ping(t, c)
	return c
}

// clusterClient returns a client of the Redis Cluster, closed with t.
func clusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	addrs := strings.Split(needEnv(t, envClusterAddrs), ",")
	c := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 addrs,
		DialTimeout:           time.Second,
		ReadTimeout:           2 * time.Second,
		WriteTimeout:          2 * time.Second,
		ContextTimeoutEnabled: true,
		PoolSize:              64,
	})
	t.Cleanup(func() { c.Close() })
	ping(t, c)
	return c
}

func ping(t testing.TB, c redis.UniversalClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis not reachable: %v", err)
	}
}

// testPrefix returns a key prefix no other test uses.
func testPrefix(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "sktest:" + hex.EncodeToString(b[:]) + ":"
}

// newStore returns a store with a fresh prefix over c whose keys are
// deleted when t ends.
func newStore(t testing.TB, c redis.UniversalClient, opts Options) *Store {
	t.Helper()
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = testPrefix(t)
	}
	s, err := New(c, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.DeleteAll(ctx); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return s
}

// newID returns a random ID in core's default shape.
func newID(t testing.TB) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789,-"
	b := make([]byte, 43)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[b[i]&63]
	}
	return string(b)
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
