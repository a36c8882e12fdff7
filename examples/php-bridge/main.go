// Command php-bridge is a Go service sharing one login, a cart and flash
// messages with a PHP application through PHP's own session store: PHP's
// files handler (session.save_handler = files) or phpredis (redis), with
// each side locking the session the other is using. README.md tells the
// migration story; php/ holds the PHP application and its php.ini files.
//
//	cd examples/php-bridge
//	export PHP_BRIDGE_STORE=files PHP_BRIDGE_SAVE_PATH=/tmp/php-bridge-sessions
//	mkdir -p $PHP_BRIDGE_SAVE_PATH
//	php -S 127.0.0.1:8080 -t php -c php/files.ini &
//	go run .
package main

import (
	"flag"
	"log"
	"os"
	"time"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

func main() {
	var s settings
	flag.StringVar(&s.Store, "store", envOr("PHP_BRIDGE_STORE", "files"), `PHP's session.save_handler: "files" or "redis" (env PHP_BRIDGE_STORE)`)
	flag.StringVar(&s.SavePath, "save-path", os.Getenv("PHP_BRIDGE_SAVE_PATH"), `PHP's session.save_path for files, "[N;[MODE;]]/path" (env PHP_BRIDGE_SAVE_PATH)`)
	flag.StringVar(&s.RedisAddr, "redis", envOr("PHP_BRIDGE_REDIS", "127.0.0.1:6379"), "host:port of the Redis in phpredis' session.save_path (env PHP_BRIDGE_REDIS)")
	flag.StringVar(&s.SerializeHandler, "serialize-handler", "php", "PHP's session.serialize_handler: php, php_serialize or php_binary")
	flag.DurationVar(&s.GCMaxLifetime, "gc-maxlifetime", 1440*time.Second, "PHP's session.gc_maxlifetime")
	flag.DurationVar(&s.LockTimeout, "lock-timeout", 10*time.Second, "how long a request waits for a session PHP (or Go) has locked before it answers 503")
	addr := flag.String("addr", "127.0.0.1:8081", "listen address (the same host as PHP's, another port)")
	flag.Parse()

	m, closeStore, err := newManager(s)
	if err != nil {
		log.Fatal(err)
	}
	err = demo.ListenAndServe(*addr, m.Handler(routes()))
	m.Close()
	closeStore()
	if err != nil {
		log.Fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
