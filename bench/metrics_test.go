package bench_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// installMeterProvider sets the global SDK meter provider once, with a
// ManualReader that nothing collects: every operation is recorded and
// aggregated, and nothing is exported.
func installMeterProvider() {
	_, _ = shared("otel-meter-provider", func() (bool, error) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		otel.SetMeterProvider(mp)
		atExit(func() { _ = mp.Shutdown(context.Background()) })
		return true, nil
	})
}

// BenchmarkMetrics measures gormcache's GetHit (as BenchmarkOps) with no
// meter provider and with an OpenTelemetry SDK provider whose ManualReader
// is never collected: BenchmarkMetrics/<provider>/<db>/GetHit. It must run
// after every other benchmark of the process: once set, the global
// provider stays (providerSet makes BenchmarkTracing's "none" skip too).
func BenchmarkMetrics(b *testing.B) {
	for _, provider := range []string{"none", "sdk-manual-reader"} {
		b.Run(provider, func(b *testing.B) {
			for _, db := range []string{"sqlite", "postgres"} {
				b.Run(db, func(b *testing.B) {
					b.Run("GetHit", func(b *testing.B) {
						switch provider {
						case "none":
							if providerSet.Load() {
								b.Skip("a tracer or meter provider is already set in this process; run with -count 1")
							}
						default:
							providerSet.Store(true)
							installMeterProvider()
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
