// Package sessionotel turns sessionkit's Observer hook (core.Config.Observer)
// into OpenTelemetry metrics and span events.
//
// The package lives at github.com/sessionkit/sessionkit/otel but is named
// sessionotel: a program that uses it also imports
// go.opentelemetry.io/otel (for otel.SetMeterProvider and the like), and two
// packages named otel in one file would force an import alias.
//
// It is its own module so that core's users who do not want OpenTelemetry
// never download it.
//
//	obs, err := sessionotel.Observer() // the global MeterProvider
//	if err != nil { … }
//	m, err := core.New(store, core.Config{Keys: keys, Observer: obs})
//
// # Metrics
//
// Under the instrumentation scope github.com/sessionkit/sessionkit/otel:
//
//	sessionkit.session.events  counter, {event}  every core.Event, by event (and reason)
//	sessionkit.lock.wait       histogram, s      time to acquire a session lock
//	sessionkit.store.errors    counter, {error}  failed store calls, by op
//
// The attributes are event (core.EventKind's String: "created", "loaded",
// "regenerated", "destroyed", "expired", "token_rejected", "store_error",
// "lock_wait", "lock_timeout", "conflict", "too_large"), reason (for
// token_rejected and expired, as core.Event documents it) and op (the failed
// store call: "read", "write", "lock", …). All three come from small fixed
// sets; no session ID, user name or error text is ever an attribute, so
// neither a metric backend nor a trace holds anything that could take over a
// session, and series counts stay bounded.
//
// # Traces
//
// Each Event is also added as a span event named "sessionkit.<event>" (for
// example "sessionkit.token_rejected") to the span already in the request's
// context — the one an HTTP instrumentation such as otelhttp started — with
// the same attributes, plus wait_seconds for lock_wait. When that span is
// not recording nothing is added. The package starts no spans of its own,
// so it needs no TracerProvider.
package sessionotel
