package bench_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gormcache/cache/bench/internal/benchdb"
)

// Precomputed keys and values, so that the benchmarks time the operations
// and not fmt.
var (
	hitKeys, missKeys, counterKeys []string
	values                         []Item
)

func init() { //nolint:gochecknoinits // test fixtures
	hitKeys = make([]string, rows)
	missKeys = make([]string, rows)
	values = make([]Item, rows)
	for i := range rows {
		// A stride through the table: consecutive operations touch rows
		// far apart.
		j := i * 7919 % rows
		hitKeys[i] = benchdb.Key(j)
		missKeys[i] = "missing:" + strconv.Itoa(j)
		values[i] = benchdb.Value(j)
	}
	for i := range 100 {
		counterKeys = append(counterKeys, "counter:"+strconv.Itoa(i))
	}
}

func jsonValue(i int) ([]byte, error) { return json.Marshal(benchdb.Value(i)) }

// ops are the operations of BenchmarkOps, in order.
var ops = []struct {
	name string
	run  func(b *testing.B, k kv)
}{
	{"GetHit", benchGetHit},
	{"GetMiss", benchGetMiss},
	{"Set", benchSet},
	{"SetTagged3", benchSetTagged3},
	{"Increment", benchIncrement},
	{"GetMany100", benchGetMany100},
	{"GetHitParallel", benchGetHitParallel},
	{"SetParallel", benchSetParallel},
}

// BenchmarkOps compares gormcache with raw SQL, naive GORM, scs and Redis:
// BenchmarkOps/<db>/<impl>/<op>. Every run of every op starts from the
// same state: a freshly loaded table of 10,000 entries.
func BenchmarkOps(b *testing.B) {
	for _, db := range opsDBs {
		b.Run(db, func(b *testing.B) {
			for _, impl := range implsFor(db) {
				b.Run(impl, func(b *testing.B) {
					for _, op := range ops {
						b.Run(op.name, func(b *testing.B) {
							k := fresh(b, db, impl)
							b.ReportAllocs()
							b.ResetTimer()
							op.run(b, k)
						})
					}
				})
			}
		})
	}
}

func skipUnsupported(b *testing.B, err error) {
	if errors.Is(err, errUnsupported) {
		b.Skip(err)
	}
}

func benchGetHit(b *testing.B, k kv) {
	var v Item
	for i := 0; b.Loop(); i++ {
		ok, err := k.Get(hitKeys[i%rows], &v)
		if err != nil || !ok {
			b.Fatalf("get %s: %v, %v", hitKeys[i%rows], ok, err)
		}
	}
}

func benchGetMiss(b *testing.B, k kv) {
	var v Item
	for i := 0; b.Loop(); i++ {
		ok, err := k.Get(missKeys[i%rows], &v)
		if err != nil || ok {
			b.Fatalf("get %s: %v, %v", missKeys[i%rows], ok, err)
		}
	}
}

func benchSet(b *testing.B, k kv) {
	for i := 0; b.Loop(); i++ {
		if err := k.Set(hitKeys[i%rows], &values[i%rows]); err != nil {
			b.Fatalf("set: %v", err)
		}
	}
}

// benchSetTagged3 is Set through a session with three tags (gormcache
// only): the target compares it with the untagged Set.
func benchSetTagged3(b *testing.B, k kv) {
	t, ok := k.(interface{ WithTags(tags ...string) kv })
	if !ok {
		b.Skip(errUnsupported)
	}
	benchSet(b, t.WithTags("product:7", "catalog", "user:42"))
}

func benchIncrement(b *testing.B, k kv) {
	if _, err := k.Increment(counterKeys[0], 0); err != nil {
		skipUnsupported(b, err)
		b.Fatalf("increment: %v", err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := k.Increment(counterKeys[i%len(counterKeys)], 1); err != nil {
			b.Fatalf("increment: %v", err)
		}
	}
}

func benchGetMany100(b *testing.B, k kv) {
	if _, err := k.GetMany(hitKeys[:1]); err != nil {
		skipUnsupported(b, err)
		b.Fatalf("get many: %v", err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		lo := i % (rows / 100) * 100
		n, err := k.GetMany(hitKeys[lo : lo+100])
		if err != nil || n != 100 {
			b.Fatalf("get many: %d, %v", n, err)
		}
	}
}

func benchGetHitParallel(b *testing.B, k kv) {
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		var v Item
		i := int(next.Add(1)) * 1000
		for ; pb.Next(); i++ {
			if ok, err := k.Get(hitKeys[i%rows], &v); err != nil || !ok {
				b.Errorf("get: %v, %v", ok, err)
				return
			}
		}
	})
}

func benchSetParallel(b *testing.B, k kv) {
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 1000
		for ; pb.Next(); i++ {
			if err := k.Set(hitKeys[i%rows], &values[i%rows]); err != nil {
				b.Errorf("set: %v", err)
				return
			}
		}
	})
}
