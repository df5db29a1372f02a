package cache_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/opentelemetry-go-extra/otelgorm"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// The global provider is set here, long after the cache package was loaded:
// its spans must still reach it.
var recorder = sync.OnceValue(func() *tracetest.SpanRecorder {
	r := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r)))
	return r
})

// traced runs fn under a fresh parent span and returns the spans of its trace.
func traced(t *testing.T, fn func(ctx context.Context)) []sdktrace.ReadOnlySpan {
	t.Helper()
	rec := recorder()
	ctx, parent := otel.Tracer("test").Start(context.Background(), "test")
	fn(ctx)
	parent.End()
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() == parent.SpanContext().TraceID() && s.Name() != "test" {
			out = append(out, s)
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func byName(spans []sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func TestSpans(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		spans := traced(t, func(ctx context.Context) {
			d := db.WithContext(ctx)
			require.NoError(t, cache.Cached(d, "k").Set(1, cache.In(time.Hour)))
			var v int
			_, _ = cache.Cached(d, "k").Get(&v)
			_, _ = cache.Cached(d, "missing").Get(&v)
			_, _ = cache.Cached(d, "k").Exists()
			_, _ = cache.Cached(d, "k").Add(2)
			_, _ = cache.Cached(d, "k").Touch()
			_, _ = cache.Cached(d, "n").Increment(1)
			_, _ = cache.Cached(d, "n").Decrement(1)
			_, _ = cache.GetMany[int](d, []string{"k"})
			_, _ = cache.Cached(d, "k").Delete()
			_ = cache.Cached(d, "bad").Set(math.NaN())
		})
		for _, name := range []string{"cache.set", "cache.get", "cache.exists", "cache.add", "cache.touch",
			"cache.increment", "cache.decrement", "cache.get_many", "cache.delete"} {
			require.NotEmpty(t, byName(spans, name), name)
		}
		sets := byName(spans, "cache.set")
		require.Len(t, sets, 2)
		a := attrs(sets[0])
		require.Equal(t, "k", a["cache.key"].AsString())
		exp, err := time.Parse(time.RFC3339Nano, a["cache.item.expires_at"].AsString())
		require.NoError(t, err)
		require.WithinDuration(t, time.Now().Add(time.Hour), exp, time.Minute)
		require.Equal(t, trace.SpanKindClient, sets[0].SpanKind())

		failed := sets[1]
		require.Equal(t, codes.Error, failed.Status().Code)
		require.NotEmpty(t, failed.Events(), "error recorded")

		gets := byName(spans, "cache.get")
		require.Len(t, gets, 2)
		require.True(t, attrs(gets[0])["cache.hit"].AsBool())
		require.False(t, attrs(gets[1])["cache.hit"].AsBool())
		require.Equal(t, codes.Unset, gets[1].Status().Code, "a miss is not an error")
		require.True(t, attrs(byName(spans, "cache.exists")[0])["cache.hit"].AsBool())
	})
}

func TestOtelgormSpansAreChildren(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := cachetest.Reopen(t, b)
			require.NoError(t, db.Use(otelgorm.NewPlugin(otelgorm.WithoutMetrics())))
			spans := traced(t, func(ctx context.Context) {
				require.NoError(t, cache.Cached(db.WithContext(ctx), "k").Set(1))
				_, err := cache.Cached(db.WithContext(ctx), "k").Exists()
				require.NoError(t, err)
			})
			for _, name := range []string{"cache.set", "cache.exists"} {
				parent := byName(spans, name)
				require.Len(t, parent, 1, name)
				var children int
				for _, s := range spans {
					if s.Parent().SpanID() == parent[0].SpanContext().SpanID() && s.Name() != name {
						children++
					}
				}
				require.Equal(t, 1, children, "one DB span under %s", name)
			}
		})
	}
}

func TestWithoutKeyAttribute(t *testing.T) {
	b := cachetest.SQLite(t)
	spans := traced(t, func(ctx context.Context) {
		d := cache.WithoutKeyAttribute(b.DB).WithContext(ctx)
		require.NoError(t, cache.Cached(d, "secret@example.com").Set(1))
		_, _, err := cache.Get[int](d, "secret@example.com")
		require.NoError(t, err)
		require.NoError(t, cache.Cached(b.DB.WithContext(ctx), "public").Set(1))
	})
	sets := byName(spans, "cache.set")
	require.Len(t, sets, 2)
	_, has := attrs(sets[0])["cache.key"]
	require.False(t, has, "key left out")
	_, has = attrs(byName(spans, "cache.get")[0])["cache.key"]
	require.False(t, has, "key left out")
	require.Equal(t, "public", attrs(sets[1])["cache.key"].AsString())
	// The returned session is reusable and does not leak conditions.
	var n int64
	require.NoError(t, cache.WithoutKeyAttribute(b.DB).Model(&cache.CachedItem{}).Count(&n).Error)
	require.EqualValues(t, 2, n)
}
