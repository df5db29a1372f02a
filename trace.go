package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"gorm.io/gorm"
)

// tracerName names the instrumentation scope of the package's spans.
const tracerName = "github.com/gormcache/cache"

// tracer comes from the global provider. The global provider delegates to
// one that the app sets later, so spans go where the app sends them even
// when it sets its provider after this package is loaded.
var tracer = otel.Tracer(tracerName)

// startOptions is built once: a variadic argument passed through the
// Tracer interface escapes, so a literal would allocate on every call.
var startOptions = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}

// defaultProvider is OpenTelemetry's global provider as it is before the app
// sets one: it only hands out non-recording spans. While it is still the
// global provider, start skips the span altogether (no allocation, no
// context value); the first otel.SetTracerProvider turns spans on. It is nil
// when a provider was already set before this package was loaded.
var defaultProvider = unsetProvider(otel.GetTracerProvider())

// unsetProvider returns tp when it is a provider that traces nothing, as the
// global one is until the app sets its own, and nil otherwise. It asks tp
// for a span under a remote parent that is not sampled: a provider that
// traces nothing hands back the parent's own span context, while any tracing
// SDK makes a span of its own (not recorded, since the parent is not
// sampled under a parent-based sampler, such as the default, nor under a
// ratio below 1, which samples by the trace ID's low half, here the
// highest). Only a provider set before this package was loaded, with an
// AlwaysSample sampler, would record the probe.
func unsetProvider(tp trace.TracerProvider) trace.TracerProvider {
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x67, 0x63, 8: 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		SpanID:  trace.SpanID{0x67, 0x63},
		Remote:  true,
	})
	_, span := tp.Tracer(tracerName).Start(trace.ContextWithRemoteSpanContext(context.TODO(), parent), "cache.probe")
	defer span.End()
	if span.IsRecording() || !span.SpanContext().Equal(parent) {
		return nil
	}
	return tp
}

// tracing reports whether the app has set a global tracer provider.
func tracing() bool {
	return defaultProvider == nil || otel.GetTracerProvider() != defaultProvider
}

// omitKeySetting is the GORM setting that WithoutKeyAttribute sets.
const omitKeySetting = "gormcache:omit_key_attribute"

// WithoutKeyAttribute returns a session of db whose cache operations leave
// the cache.key attribute out of their spans, for apps whose keys hold
// personal data. Use the returned *gorm.DB (or sessions made from it, such as
// WithContext) for cache calls:
//
//	cacheDB := cache.WithoutKeyAttribute(db)
//	cache.Cached(cacheDB.WithContext(ctx), "user:42:email").Get(&email)
func WithoutKeyAttribute(db *gorm.DB) *gorm.DB {
	return db.Set(omitKeySetting, true).Session(&gorm.Session{})
}

// op is one traced cache operation.
type op struct {
	r    runner
	span trace.Span
	name string // as in error messages: "get", "get many", ...
	key  string
	// hasKey is false for operations on many keys or the whole table.
	hasKey bool
	// Metrics (metrics.go): began is zero when no meter provider is set.
	spanName string
	began    time.Time
	hitSeen  hitState
}

// start opens the span "cache.<span>" and the runner under its context.
// The returned op is ready to use when err is nil; end must be called either
// way.
func start(db *gorm.DB, span, name, key string, hasKey bool) (op, error) {
	o := op{name: name, key: key, hasKey: hasKey, spanName: span}
	if metering() {
		o.began = time.Now()
	}
	ctx := context.TODO()
	if db != nil && db.Statement != nil && db.Statement.Context != nil {
		ctx = db.Statement.Context
	}
	if tracing() {
		ctx, o.span = tracer.Start(ctx, span, startOptions...)
	} else {
		o.span = noop.Span{}
	}
	if hasKey && db != nil && o.span.IsRecording() {
		if v, ok := db.Get(omitKeySetting); !ok || v != true {
			o.span.SetAttributes(attribute.String("cache.key", key))
		}
	}
	var err error
	if o.r, err = newRunner(db, ctx); err != nil {
		return o, err
	}
	if hasKey {
		// The one place where keys are checked: before any statement.
		return o, checkKey(key)
	}
	return o, nil
}

// hit records whether a read found a live entry.
func (o *op) hit(hit bool) {
	if o.hitSeen == hitUnknown { // the metric counts the first lookup
		o.hitSeen = hitMiss
		if hit {
			o.hitSeen = hitFound
		}
	}
	if o.span.IsRecording() {
		o.span.SetAttributes(attribute.Bool("cache.hit", hit))
	}
}

// expires records the expiry an operation wrote.
func (o *op) expires(t *time.Time) {
	if t != nil && o.span.IsRecording() {
		o.span.SetAttributes(attribute.String("cache.item.expires_at", t.Format(time.RFC3339Nano)))
	}
}

// end closes the span and wraps err with the operation and key.
func (o *op) end(err error) error {
	if err != nil {
		err = withBusyErr(o.r.d, withContextErr(o.r.ctx, err))
		if o.hasKey {
			err = fmt.Errorf("cache: %s %q: %w", o.name, o.key, err)
		} else {
			err = fmt.Errorf("cache: %s: %w", o.name, err)
		}
		o.span.RecordError(err)
		o.span.SetStatus(codes.Error, errors.Unwrap(err).Error())
	}
	o.span.End()
	if !o.began.IsZero() {
		o.record(err)
	}
	return err
}
