package bench_test

import (
	"context"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// sampler is the SDK sampler of BenchmarkTracing: it drops every span until
// sample is set. otel's global provider can be set only once per process,
// so one SDK provider serves both SDK cases.
type sampler struct{ sample atomic.Bool }

func (s *sampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if s.sample.Load() {
		return sdktrace.AlwaysSample().ShouldSample(p)
	}
	return sdktrace.NeverSample().ShouldSample(p)
}

func (s *sampler) Description() string { return "switchable" }

var tracingSampler = &sampler{}

// installProvider sets the global SDK provider once. It has no span
// processor: sampled spans are recorded and then dropped.
func installProvider() {
	_, _ = shared("otel-provider", func() (bool, error) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracingSampler))
		otel.SetTracerProvider(tp)
		atExit(func() { _ = tp.Shutdown(context.Background()) })
		return true, nil
	})
}

var providerSet atomic.Bool

// BenchmarkTracing measures gormcache's GetHit (as BenchmarkOps) with no
// tracer provider, with an OpenTelemetry SDK provider that samples
// nothing, and with one that samples (and records) every span:
// BenchmarkTracing/<provider>/<db>/GetHit. It must run after every other
// benchmark of the process: once set, the global provider stays.
func BenchmarkTracing(b *testing.B) {
	for _, provider := range []string{"none", "sdk-sample-none", "sdk-sample-all"} {
		b.Run(provider, func(b *testing.B) {
			for _, db := range []string{"sqlite", "postgres"} {
				b.Run(db, func(b *testing.B) {
					b.Run("GetHit", func(b *testing.B) {
						switch provider {
						case "none":
							if providerSet.Load() {
								b.Skip("a tracer provider is already set in this process; run with -count 1")
							}
						default:
							providerSet.Store(true)
							installProvider()
							tracingSampler.sample.Store(provider == "sdk-sample-all")
							defer tracingSampler.sample.Store(false)
						}
						k := fresh(b, db, "gormcache")
						b.ReportAllocs()
						b.ResetTimer()
						benchGetHit(b, k)
					})
				})
			}
		})
	}
}
