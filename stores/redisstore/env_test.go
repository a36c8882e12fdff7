package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// The servers come from scripts/services.sh, which exports these.
const (
	envAddr         = "SESSIONKIT_REDIS_ADDR"
	envClusterAddrs = "SESSIONKIT_REDIS_CLUSTER_ADDRS"
	envBin          = "SESSIONKIT_REDIS_BIN"
)

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
	c := redis.NewClient(clientOptions(storetest.RequireEnv(t, envAddr)))
	t.Cleanup(func() { c.Close() })
	ping(t, c)
	return c
}

// clusterClient returns a client of the Redis Cluster, closed with t.
func clusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	addrs := strings.Split(storetest.RequireEnv(t, envClusterAddrs), ",")
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
