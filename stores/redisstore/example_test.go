package redisstore_test

import (
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/redisstore"
)

// Sessions in Redis, shared by every app server, with PHP-style locking.
func ExampleNew() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	store, err := redisstore.New(client, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	m, err := core.New(store, core.Config{
		Keys:    [][]byte{[]byte("a 32-byte-or-longer signing key, the same on every server")},
		Locking: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	http.Handle("/", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _ := core.Get[int](s, "visits")
		s.Set("visits", n+1)
	})))
}

// A Redis Cluster: the default hash-tagged keys keep a session's data and
// lock in one slot.
func ExampleNew_cluster() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"},
	})
	defer client.Close()
	if _, err := redisstore.New(client, redisstore.Options{}); err != nil {
		log.Fatal(err)
	}
}

// Sharing sessions and locks with PHP's phpredis handler
// (session.save_handler = redis): phpredis' key layout, PHP's cookie.
func ExamplePHPRedis() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	store, err := redisstore.New(client, redisstore.PHPRedis())
	if err != nil {
		log.Fatal(err)
	}
	// PHP's PHPSESSID cookie; set Codec to the PHP session codec too.
	m, err := core.New(store, core.Config{Transport: core.TransportRawCookie, Locking: true})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
}
