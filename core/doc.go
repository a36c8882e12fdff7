// Package core is sessionkit's framework-neutral session engine: PHP's
// session module with session_set_save_handler, done for Go.
//
// A Manager owns the whole lifecycle and a Store only keeps bytes:
//
//	transport → signature → ID syntax → store → codec → Session → handler
//	        → commit → codec → store → transport
//
// Users need New, Config, Manager.Handler (net/http; adapters/* for Gin,
// Echo and Fiber) and the Session's data calls:
//
//	m, err := core.New(nil, core.Config{}) // memory store, secure defaults
//	if err != nil { … }
//	defer m.Close()
//	// plain HTTP on loopback only: the default __Host- cookie is Secure
//	http.ListenAndServe("localhost:8080", m.Handler(mux))
//	// in a handler:
//	s, err := core.FromContext(r.Context())
//	n, _ := core.Get[int](s, "visits")
//	s.Set("visits", n+1)
//
// A token that fails any check (signature, age, ID syntax) is a new
// session, never an error and never a store call; strict mode is always
// on; everything is lazy; changes are committed before the first byte of
// the response. Manager describes the lifecycle, Config.Locking and Swapper
// the guarantees under concurrency.
//
// Storage is pluggable: a Store implements Read, Write and Destroy, and
// every other PHP callback is an optional interface (Toucher, Exister,
// IDCreator, Collector, Opener, Locker, Swapper, UserIndex) that the
// Manager falls back from when it is absent or answers ErrNotSupported.
// FuncStore builds a store from plain functions, so a PHP handler ports
// one callback at a time.
//
// A store failure is never an empty session: the request gets the
// Config.ErrorHandler's answer (ErrorStatus: 503 by default) instead of the
// handler's. Every error wraps one of the package's sentinels (ErrStore,
// ErrLockTimeout, ErrTooLarge, ErrConflict, …); raw IDs never appear in
// errors or logs. Adapter authors start at Adapter.
package core
