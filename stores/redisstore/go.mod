module github.com/sessionkit/sessionkit/stores/redisstore

go 1.22

require (
	github.com/redis/go-redis/v9 v9.17.3
	github.com/sessionkit/sessionkit v0.1.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
)
