package main

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/filestore"
	"github.com/sessionkit/sessionkit/stores/redisstore"
)

// settings are the PHP settings the Go side must share with php.ini.
type settings struct {
	Store            string        // session.save_handler: "files" or "redis"
	SavePath         string        // session.save_path of the files handler
	RedisAddr        string        // the host:port in phpredis' session.save_path
	SerializeHandler string        // session.serialize_handler
	GCMaxLifetime    time.Duration // session.gc_maxlifetime
	LockTimeout      time.Duration // Go's wait for a locked session; PHP's is lock_retries × lock_wait_time
}

// lockTTL is redis.session.lock_expire: how long a lock outlives a request
// that died holding it, on both sides.
const lockTTL = 30 * time.Second

// newManager returns a Manager that shares PHP's sessions: PHP's cookie,
// PHP's format in PHP's store, PHP's lifetime, and the session locked from
// load to commit as PHP locks it. done closes what it opened.
func newManager(s settings) (m *core.Manager, done func(), err error) {
	cfg, err := core.PHPConfig(s.SerializeHandler, s.GCMaxLifetime)
	if err != nil {
		return nil, nil, err
	}
	// The demo talks plain HTTP on 127.0.0.1, where browsers drop Secure
	// cookies; PHP's side has session.cookie_secure = 0 to match. Behind
	// a real domain serve HTTPS on both sides and drop this line.
	cfg.Cookie.Insecure = true
	cfg.Locking = true
	cfg.LockTimeout = s.LockTimeout

	store, done, err := newStore(s)
	if err != nil {
		return nil, nil, err
	}
	if m, err = core.New(store, cfg); err != nil {
		done()
		return nil, nil, err
	}
	return m, done, nil
}

// newStore opens PHP's store in PHP's layout. done closes what it opened.
func newStore(s settings) (store core.Store, done func(), err error) {
	switch s.Store {
	case "files":
		// PHP's save_path syntax and gc_maxlifetime: Go and PHP agree on
		// where a session lives and when it expires.
		store, err = filestore.PHP(s.SavePath, s.GCMaxLifetime)
		return store, func() {}, err
	case "redis":
		client := redis.NewClient(&redis.Options{Addr: s.RedisAddr, ContextTimeoutEnabled: true})
		opts := redisstore.PHPRedis() // PHPREDIS_SESSION:<id>, PHPREDIS_SESSION:<id>_LOCK
		opts.LockTTL = lockTTL
		if store, err = redisstore.New(client, opts); err != nil {
			client.Close()
			return nil, nil, err
		}
		return store, func() { client.Close() }, nil
	}
	return nil, nil, fmt.Errorf("store %q: want files or redis", s.Store)
}
