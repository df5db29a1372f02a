package cache_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// The global meter provider is set here, long after the cache package made
// its instruments: they must still reach it. The reader reports deltas, so
// each collection holds what happened since the one before.
var metricReader = sync.OnceValue(func() *sdkmetric.ManualReader {
	r := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(
		func(sdkmetric.InstrumentKind) metricdata.Temporality { return metricdata.DeltaTemporality }))
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(r)))
	return r
})

// collect returns the package's metrics since the last collection.
func collect(t *testing.T) []metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, metricReader().Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == "github.com/gormcache/cache" {
			return sm.Metrics
		}
	}
	return nil
}

func findMetric(ms []metricdata.Metrics, name string) (metricdata.Metrics, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m, true
		}
	}
	return metricdata.Metrics{}, false
}

// attrString renders an attribute set as "k=v k=v", sorted.
func attrString(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, fmt.Sprintf("%s=%s", kv.Key, kv.Value.String()))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// durations returns the histogram's counts by attribute set, with
// db.system.name checked and left out.
func durations(t *testing.T, ms []metricdata.Metrics, system string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	m, ok := findMetric(ms, "cache.operation.duration")
	if !ok {
		return out
	}
	require.Equal(t, "s", m.Unit)
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "cache.operation.duration is a float64 histogram: %T", m.Data)
	for _, dp := range h.DataPoints {
		v, ok := dp.Attributes.Value("db.system.name")
		require.True(t, ok, "db.system.name on %s", attrString(dp.Attributes))
		require.Equal(t, system, v.AsString())
		require.Greater(t, dp.Sum, 0.0)
		max, _ := dp.Max.Value()
		require.Less(t, max, 60.0, "seconds, not nanoseconds")
		filtered, _ := dp.Attributes.Filter(func(kv attribute.KeyValue) bool { return kv.Key != "db.system.name" })
		out[attrString(filtered)] += dp.Count
	}
	return out
}

func dbSystem(db *gorm.DB) string {
	switch db.Dialector.Name() {
	case "sqlite", "mysql":
		return db.Dialector.Name()
	}
	return "postgresql"
}

func TestMetricsOperations(t *testing.T) {
	metricReader()
	each(t, func(t *testing.T, db *gorm.DB) {
		collect(t) // drop what came before
		c := func(k string) *cache.Entry { return cache.Cached(db, k) }
		var s string
		require.NoError(t, c("a").Set("x", cache.In(time.Hour)))
		_, err := c("a").Get(&s)
		require.NoError(t, err)
		_, err = c("a").Get(&s)
		require.NoError(t, err)
		_, err = c("missing").Get(&s)
		require.NoError(t, err)
		_, err = c("a").Exists()
		require.NoError(t, err)
		_, err = c("a").Value()
		require.NoError(t, err)
		_, err = c("a").Add("y")
		require.NoError(t, err)
		_, err = c("a").Touch(cache.In(time.Hour))
		require.NoError(t, err)
		_, err = c("n").Increment(2)
		require.NoError(t, err)
		_, err = c("n").Decrement(1)
		require.NoError(t, err)
		_, err = c("a").Delete()
		require.NoError(t, err)
		require.NoError(t, cache.SetMany(db, map[string]any{"b": 1, "c": 2}))
		_, err = cache.GetMany[int](db, []string{"b", "c", "d"})
		require.NoError(t, err)
		_, err = cache.DeleteMany(db, []string{"b"})
		require.NoError(t, err)
		compute := func() (string, error) { return "v", nil }
		_, err = cache.GetOrSet(db, "g", compute) // miss, computes
		require.NoError(t, err)
		_, err = cache.GetOrSet(db, "g", compute) // hit
		require.NoError(t, err)
		_, err = cache.ClearExpired(db)
		require.NoError(t, err)
		_, err = cache.Stats(db)
		require.NoError(t, err)
		_, err = cache.Clear(db)
		require.NoError(t, err)
		// Failures: error.type names the sentinel.
		require.ErrorIs(t, c("").Set("x"), cache.ErrInvalidKey)
		require.NoError(t, c("s").Set("text"))
		_, err = c("s").Increment(1)
		require.ErrorIs(t, err, cache.ErrNotNumber)
		_, err = c(strings.Repeat("k", 300)).Get(&s)
		require.ErrorIs(t, err, cache.ErrInvalidKey)

		got := durations(t, collect(t), dbSystem(db))
		require.Equal(t, map[string]uint64{
			"cache.operation=set":                             2,
			"cache.hit=true cache.operation=get":              2,
			"cache.hit=false cache.operation=get":             1,
			"cache.hit=true cache.operation=exists":           1,
			"cache.hit=true cache.operation=value":            1,
			"cache.operation=add":                             1,
			"cache.operation=touch":                           1,
			"cache.operation=increment":                       1,
			"cache.operation=decrement":                       1,
			"cache.operation=delete":                          1,
			"cache.operation=set_many":                        1,
			"cache.operation=get_many":                        1,
			"cache.operation=delete_many":                     1,
			"cache.hit=false cache.operation=get_or_set":      1,
			"cache.hit=true cache.operation=get_or_set":       1,
			"cache.operation=clear_expired":                   1,
			"cache.operation=stats":                           1,
			"cache.operation=clear":                           1,
			"cache.operation=set error.type=invalid_key":      1,
			"cache.operation=increment error.type=not_number": 1,
			"cache.operation=get error.type=invalid_key":      1,
		}, got)
		// No gauges until ObserveStats.
		_, ok := findMetric(collect(t), "cache.entries")
		require.False(t, ok)
	})
}

func TestMetricsObserveStats(t *testing.T) {
	metricReader()
	each(t, func(t *testing.T, db *gorm.DB) {
		// The default table, and a table of its own (db.Table) beside a
		// default table holding other entries.
		other := db.Table("metrics_cache").Session(&gorm.Session{})
		require.NoError(t, cache.AutoMigrate(other))
		for _, tdb := range []*gorm.DB{db, other} {
			_, err := cache.Clear(db)
			require.NoError(t, err)
			_, err = cache.Clear(other)
			require.NoError(t, err)
			require.NoError(t, cache.Cached(tdb, "f1").Set("abc"))                   // "abc": 5 bytes
			require.NoError(t, cache.Cached(tdb, "f2").Set(12345))                   // 5 bytes
			require.NoError(t, cache.Cached(tdb, "u").Set("x", cache.In(time.Hour))) // 3 bytes
			require.NoError(t, cache.Cached(tdb, "e").Set(true, cache.In(-time.Minute)))
			if tdb == other {
				require.NoError(t, cache.Cached(db, "not-this-table").Set("zzzzzzzz"))
			}
			collect(t)

			unregister, err := cache.ObserveStats(tdb)
			require.NoError(t, err)
			t.Cleanup(func() { _ = unregister() }) // when a check below fails
			ms := collect(t)
			entries := map[string]int64{}
			m, ok := findMetric(ms, "cache.entries")
			require.True(t, ok, "cache.entries after ObserveStats")
			for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
				v, _ := dp.Attributes.Value("db.system.name")
				require.Equal(t, dbSystem(db), v.AsString())
				st, _ := dp.Attributes.Value("cache.status")
				entries[st.AsString()] = dp.Value
			}
			require.Equal(t, map[string]int64{"live": 3, "expired": 1, "forever": 2}, entries)
			m, ok = findMetric(ms, "cache.size")
			require.True(t, ok, "cache.size after ObserveStats")
			size := m.Data.(metricdata.Gauge[int64]).DataPoints
			require.Len(t, size, 1)
			require.Equal(t, int64(5+5+3+4), size[0].Value)
			require.Equal(t, "By", m.Unit)

			require.NoError(t, unregister())
			ms = append(ms, collect(t)...)
			_, ok = findMetric(collect(t), "cache.entries")
			require.False(t, ok, "no gauges after unregister")
			// One Stats query per collection, and only while observed.
			var stats uint64
			for _, m := range ms {
				if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
					for _, dp := range h.DataPoints {
						if v, _ := dp.Attributes.Value("cache.operation"); v.AsString() == "stats" {
							stats += dp.Count
						}
					}
				}
			}
			require.Equal(t, uint64(1), stats)
		}
	})
}

func TestObserveStatsNil(t *testing.T) {
	_, err := cache.ObserveStats(nil)
	require.Error(t, err)
}

// TestMetricsAllocateNothing: setting a meter provider adds no allocation
// to a Get. It runs in a child process of its own, where no test has set a
// provider yet.
func TestMetricsAllocateNothing(t *testing.T) {
	if os.Getenv("GORMCACHE_METRICS_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMetricsAllocateNothing$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "GORMCACHE_METRICS_CHILD=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "--- PASS: TestMetricsAllocateNothing")
		return
	}
	db := cachetest.SQLite(t).DB
	e := cache.Cached(db, "k")
	require.NoError(t, e.Set("v"))
	var s string
	get := func() {
		ok, err := e.Get(&s)
		if err != nil || !ok {
			panic(fmt.Sprint("get: ", ok, err))
		}
	}
	before := testing.AllocsPerRun(200, get)
	metricReader()
	after := testing.AllocsPerRun(200, get)
	require.Equal(t, before, after, "allocations per Get without and with a meter provider")

	collect(t) // drop the measurements of the runs above
	get()
	require.Equal(t, uint64(1), durations(t, collect(t), "sqlite")["cache.hit=true cache.operation=get"], "the provider gets the measurements")
}
