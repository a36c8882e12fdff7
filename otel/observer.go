package sessionotel

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/core"
)

// scope is the instrumentation scope the metrics are recorded under.
const scope = "github.com/sessionkit/sessionkit/otel"

// The attribute keys (see the package documentation).
const (
	keyEvent  = attribute.Key("event")
	keyReason = attribute.Key("reason")
	keyOp     = attribute.Key("op")
	keyWait   = attribute.Key("wait_seconds")
)

// lockWaitBounds are the lock.wait histogram's buckets, in seconds. An
// uncontended lock takes microseconds (memory) to a round trip (Redis,
// PostgreSQL); a contended one waits for another request of the same user,
// up to core.Config.LockTimeout. The SDK's default buckets (0 to 10000)
// are meant for milliseconds and would put every wait in the first one.
var lockWaitBounds = []float64{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Option configures Observer.
type Option func(*config)

type config struct {
	meters metric.MeterProvider
}

// WithMeterProvider records the metrics through mp instead of the global
// MeterProvider (otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meters = mp }
}

// Observer returns a function for core.Config.Observer that counts every
// core.Event in OpenTelemetry metrics and adds it as an event to the span
// in the request's context. The error is the meter's, when it refuses an
// instrument.
func Observer(opts ...Option) (func(context.Context, core.Event), error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.meters == nil {
		c.meters = otel.GetMeterProvider()
	}
	meter := c.meters.Meter(scope)
	events, err1 := meter.Int64Counter("sessionkit.session.events",
		metric.WithUnit("{event}"),
		metric.WithDescription("Session events: sessions created, loaded, regenerated, destroyed and expired, tokens rejected, store errors, lock waits and timeouts, conflicts and oversized commits."))
	wait, err2 := meter.Float64Histogram("sessionkit.lock.wait",
		metric.WithUnit("s"),
		metric.WithDescription("Time taken to acquire a session lock."),
		metric.WithExplicitBucketBoundaries(lockWaitBounds...))
	storeErrors, err3 := meter.Int64Counter("sessionkit.store.errors",
		metric.WithUnit("{error}"),
		metric.WithDescription("Failed session store calls."))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("sessionotel: %w", err)
	}
	o := &observer{events: events, wait: wait, storeErrors: storeErrors}
	for k := core.EventKind(1); k.String() != "unknown"; k++ {
		attr := keyEvent.String(k.String())
		o.kinds = append(o.kinds, kind{
			name: "sessionkit." + k.String(),
			attr: attr,
			add:  metric.WithAttributeSet(attribute.NewSet(attr)),
		})
	}
	return o.observe, nil
}

type observer struct {
	events      metric.Int64Counter
	wait        metric.Float64Histogram
	storeErrors metric.Int64Counter
	// kinds holds what every Event of a kind shares, by EventKind-1, built
	// once so that the frequent events (created, loaded, lock_wait) cost
	// no attribute set each.
	kinds []kind
}

type kind struct {
	name string             // the span event's name
	attr attribute.KeyValue // event=<kind>
	add  metric.AddOption   // the events counter's attributes without a reason
}

func (o *observer) observe(ctx context.Context, e core.Event) {
	k := o.kind(e.Kind)
	if e.Reason == "" {
		o.events.Add(ctx, 1, k.add)
	} else {
		o.events.Add(ctx, 1, metric.WithAttributes(k.attr, keyReason.String(e.Reason)))
	}
	switch e.Kind {
	case core.EventLockWait:
		o.wait.Record(ctx, e.Duration.Seconds())
	case core.EventStoreError:
		o.storeErrors.Add(ctx, 1, metric.WithAttributes(keyOp.String(e.Op)))
	}

	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 1, 3)
	attrs[0] = k.attr
	if e.Reason != "" {
		attrs = append(attrs, keyReason.String(e.Reason))
	}
	if e.Op != "" {
		attrs = append(attrs, keyOp.String(e.Op))
	}
	if e.Kind == core.EventLockWait {
		attrs = append(attrs, keyWait.Float64(e.Duration.Seconds()))
	}
	span.AddEvent(k.name, trace.WithAttributes(attrs...))
}

// kind returns what Events of kind k share. A kind core has no name for
// (never reported) is labelled "unknown".
func (o *observer) kind(k core.EventKind) kind {
	if i := int(k) - 1; i >= 0 && i < len(o.kinds) {
		return o.kinds[i]
	}
	attr := keyEvent.String(k.String())
	return kind{name: "sessionkit." + k.String(), attr: attr, add: metric.WithAttributeSet(attribute.NewSet(attr))}
}
