package cache

import (
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
)

func TestUnsetProvider(t *testing.T) {
	if defaultProvider == nil {
		t.Fatal("the global provider at load was not recognized as unset")
	}
	// The package's own tests run before the external ones, which set a
	// provider (tracing_test.go): until then no span is started.
	if tracing() {
		t.Error("tracing with no provider set")
	}
	if unsetProvider(noop.NewTracerProvider()) == nil {
		t.Error("a no-op provider traces nothing")
	}
	for name, sampler := range map[string]sdktrace.Sampler{
		"default":    sdktrace.ParentBased(sdktrace.AlwaysSample()),
		"never":      sdktrace.ParentBased(sdktrace.NeverSample()),
		"ratio 0.01": sdktrace.TraceIDRatioBased(0.01),
	} {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(rec))
		if unsetProvider(tp) != nil {
			t.Errorf("%s: an SDK provider taken for an unset one", name)
		}
		if n := len(rec.Ended()); n != 0 {
			t.Errorf("%s: the probe left %d spans", name, n)
		}
	}
}

// TestUnsetMeterProvider: the global meter provider at load is recognized
// as unset, so that no duration is measured until the app sets one.
func TestUnsetMeterProvider(t *testing.T) {
	if meters.defaultProvider == nil {
		t.Fatal("the global meter provider at load was not recognized as unset")
	}
	// The package's own tests run before the external ones, which set a
	// provider (metrics_test.go); with -count above 1 a later round finds
	// it set, and then metering must be on.
	if set := otel.GetMeterProvider() != meters.defaultProvider; metering() != set {
		t.Errorf("metering is %v with a provider set: %v", metering(), set)
	}
}
