package cache

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// Metric and attribute names; see the package doc.
const (
	metricDuration = "cache.operation.duration"
	metricEntries  = "cache.entries"
	metricSize     = "cache.size"

	attrOperation = "cache.operation"
	attrHit       = "cache.hit"
	attrErrorType = "error.type"
	attrSystem    = "db.system.name"
	attrStatus    = "cache.status"
)

// meters holds the package's instruments. They come from the global
// provider's meter, made once when the package is loaded: the global
// provider delegates to the one the app sets later, so measurements go
// where the app sends them even when it sets its provider after this
// package is loaded.
var meters = newMeters()

type instruments struct {
	duration metric.Float64Histogram
	entries  metric.Int64ObservableGauge
	size     metric.Int64ObservableGauge
	meter    metric.Meter
	// defaultProvider is the global MeterProvider as it was at load time,
	// if it was OpenTelemetry's own placeholder (nil otherwise): while it
	// is still the global provider, operations measure nothing.
	defaultProvider metric.MeterProvider
	// recordOpts caches the attribute options of error-free operations,
	// keyed by operation, database and hit, so that recording allocates
	// nothing. It is copied on write: the set of keys is small and fixed
	// after the first calls.
	recordOpts atomic.Pointer[map[recordKey][]metric.RecordOption]
	mu         sync.Mutex // serializes writers of recordOpts
}

type recordKey struct {
	op, system string
	hit        hitState
}

// hitState is what a read found: nothing recorded (not a read), a miss or a
// hit.
type hitState uint8

const (
	hitUnknown hitState = iota
	hitMiss
	hitFound
)

// durationBuckets are the histogram's bucket bounds in seconds: cache
// operations take from tens of microseconds to seconds.
var durationBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

func newMeters() *instruments {
	mp := otel.GetMeterProvider()
	m := &instruments{meter: mp.Meter(tracerName)}
	if t := reflect.TypeOf(mp); t != nil && t.Kind() == reflect.Pointer &&
		t.Elem().PkgPath() == "go.opentelemetry.io/otel/internal/global" {
		m.defaultProvider = mp
	}
	// The global meter's instruments never fail; an SDK's may, and then
	// returns a no-op instrument beside the error, which is what we want.
	m.duration, _ = m.meter.Float64Histogram(metricDuration,
		metric.WithDescription("Duration of cache operations."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	m.entries, _ = m.meter.Int64ObservableGauge(metricEntries,
		metric.WithDescription("Cache entries by status: live (what reads see: forever or not yet expired), expired (not yet cleared) and forever (never expire)."),
		metric.WithUnit("{entry}"))
	m.size, _ = m.meter.Int64ObservableGauge(metricSize,
		metric.WithDescription("Bytes of the cache's values, as JSON text."),
		metric.WithUnit("By"))
	empty := map[recordKey][]metric.RecordOption{}
	m.recordOpts.Store(&empty)
	return m
}

// metering reports whether the app has set a global meter provider.
func metering() bool {
	return meters.defaultProvider == nil || otel.GetMeterProvider() != meters.defaultProvider
}

// system returns the db.system.name of a dialect ("" when unknown).
func system(d *dialect.Dialect) string {
	if d == nil {
		return ""
	}
	switch d.Name {
	case "postgres":
		return "postgresql"
	default:
		return d.Name // sqlite, mysql
	}
}

// record adds the operation to the duration histogram. It is called by end
// when start found a meter provider.
func (o *op) record(err error) {
	secs := time.Since(o.began).Seconds()
	ctx := o.r.ctx
	if ctx == nil {
		ctx = context.TODO()
	}
	k := recordKey{op: strings.TrimPrefix(o.spanName, "cache."), system: system(o.r.d), hit: o.hitSeen}
	if err != nil {
		meters.duration.Record(ctx, secs, metric.WithAttributeSet(attrSet(k, errorType(err))))
		return
	}
	opts, ok := (*meters.recordOpts.Load())[k]
	if !ok {
		opts = meters.optsFor(k)
	}
	meters.duration.Record(ctx, secs, opts...)
}

// optsFor adds k's options to the cache.
func (m *instruments) optsFor(k recordKey) []metric.RecordOption {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := *m.recordOpts.Load()
	if opts, ok := cur[k]; ok {
		return opts
	}
	opts := []metric.RecordOption{metric.WithAttributeSet(attrSet(k, ""))}
	next := maps.Clone(cur)
	next[k] = opts
	m.recordOpts.Store(&next)
	return opts
}

func attrSet(k recordKey, errType string) attribute.Set {
	kv := make([]attribute.KeyValue, 0, 4)
	kv = append(kv, attribute.String(attrOperation, k.op))
	if k.hit != hitUnknown {
		kv = append(kv, attribute.Bool(attrHit, k.hit == hitFound))
	}
	if k.system != "" {
		kv = append(kv, attribute.String(attrSystem, k.system))
	}
	if errType != "" {
		kv = append(kv, attribute.String(attrErrorType, errType))
	}
	return attribute.NewSet(kv...)
}

// errorType names an error for error.type: the package's sentinels and
// context errors by name, anything else by the Go type of the innermost
// error, or "_OTHER" (OpenTelemetry's fallback) when that says nothing.
func errorType(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{
		{ErrInvalidKey, "invalid_key"},
		{ErrInvalidValue, "invalid_value"},
		{ErrInvalidExpiration, "invalid_expiration"},
		{ErrNotNumber, "not_number"},
		{ErrOverflow, "overflow"},
		{context.Canceled, "canceled"},
		{context.DeadlineExceeded, "deadline_exceeded"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	switch t := fmt.Sprintf("%T", err); t {
	case "*errors.errorString", "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		return "_OTHER"
	default:
		return t
	}
}

// ObserveStats makes the observable gauges cache.entries (by cache.status:
// live, expired, forever; live includes forever, so live + expired is every
// entry) and cache.size (the bytes of the values as JSON text) report db's
// cache table, through the global MeterProvider. Each collection runs one
// query, under the collection's context. The gauges carry db.system.name;
// observe one cache table per database system in a process, or their
// series collide.
//
// It returns a function that stops the observation. Nothing is measured
// before ObserveStats is called: counting a large table costs a scan.
func ObserveStats(db *gorm.DB) (unregister func() error, err error) {
	if db == nil {
		return nil, errors.New("cache: observe stats: nil *gorm.DB")
	}
	reg, err := meters.meter.RegisterCallback(func(ctx context.Context, obs metric.Observer) error {
		st, size, d, err := statsAndSize(db.WithContext(ctx))
		if err != nil {
			return err
		}
		sys := attribute.String(attrSystem, system(d))
		for _, c := range []struct {
			status string
			n      int64
		}{{string(StatusLive), st.Live}, {string(StatusExpired), st.Expired}, {string(StatusForever), st.Forever}} {
			obs.ObserveInt64(meters.entries, c.n, metric.WithAttributes(attribute.String(attrStatus, c.status), sys))
		}
		obs.ObserveInt64(meters.size, size, metric.WithAttributes(sys))
		return nil
	}, meters.entries, meters.size)
	if err != nil {
		return nil, fmt.Errorf("cache: observe stats: %w", err)
	}
	return reg.Unregister, nil
}

// statsAndSize counts the entries as Stats does and sums their value sizes,
// in one query.
func statsAndSize(db *gorm.DB) (Statistics, int64, *dialect.Dialect, error) {
	o, err := start(db, "cache.stats", "stats", "", false)
	var st Statistics
	var size int64
	if err == nil {
		err = func() error {
			now := clock()
			rows, err := o.r.query(o.r.d.Stmt(dialect.StatsSize), now, now)
			if err != nil {
				return err
			}
			defer rows.Close()
			if rows.Next() {
				if err := rows.Scan(&st.Total, &st.Expired, &st.Unexpired, &st.Forever, &size); err != nil {
					return err
				}
				st.Live = st.Unexpired + st.Forever
			}
			if err := rows.Err(); err != nil {
				return err
			}
			return rows.Close()
		}()
	}
	return st, size, o.r.d, o.end(err)
}
