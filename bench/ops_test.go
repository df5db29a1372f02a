package bench_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"

	cache "github.com/gormcache/cache"
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
	{"SetRetagged3", benchSetRetagged3},
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

// errMissing is a live key read as missing.
var errMissing = errors.New("a live key read as missing")

// getHit, set and increment are one step of GetHit, Set and Increment, on
// the i-th key: BenchmarkOps runs set and increment alone, BenchmarkVsRaw
// all three in turn.
func getHit(k kv, i int) error {
	var v Item
	ok, err := k.Get(hitKeys[i%rows], &v)
	if err == nil && !ok {
		err = errMissing
	}
	return err
}

func set(k kv, i int) error { return k.Set(hitKeys[i%rows], &values[i%rows]) }

func increment(k kv, i int) error {
	_, err := k.Increment(counterKeys[i%len(counterKeys)], 1)
	return err
}

// benchGetHit decodes into one value throughout, where getHit takes a new
// one per call (3 allocations more on every implementation).
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
		if err := set(k, i); err != nil {
			b.Fatalf("set: %v", err)
		}
	}
}

// The tags of the tagged Sets, and the second set of benchSetRetagged3,
// which differs in one tag.
var (
	tags3   = []string{"product:7", "catalog", "user:42"}
	tags3to = []string{"product:7", "catalog", "user:43"}
)

// benchSetTagged3 is Set through a session with three tags (gormcache
// only): the target compares it with the untagged Set. The entries carry
// the tags already, as in a cache whose entries are written again with the
// tags they were written with; benchSetRetagged3 measures Sets that change
// them. (Without tagging them first, the first 10,000 Sets would tag
// untagged entries and the rest rewrite tagged ones, a mix that moved with
// the machine's speed.)
func benchSetTagged3(b *testing.B, k kv) {
	benchSet(b, tagAll(b, k, tags3)) // b.Loop times only the loop
}

// benchSetRetagged3 is Set through a session with three tags, every Set
// replacing one of the entry's three tags (gormcache only): the side table
// loses a row and gains one.
func benchSetRetagged3(b *testing.B, k kv) {
	// The entries carry tags3to: even passes over them write tags3, odd
	// passes tags3to again.
	tagAll(b, k, tags3to)
	g := k.(gormcacheKV)
	sessions := [2]kv{g.WithTags(tags3...), g.WithTags(tags3to...)}
	for i := 0; b.Loop(); i++ {
		if err := sessions[i/rows%2].Set(hitKeys[i%rows], &values[i%rows]); err != nil {
			b.Fatalf("set: %v", err)
		}
	}
}

// tagAll writes every entry again through a session with tags, in one
// SetMany, and returns the session; it skips implementations without tags.
func tagAll(b *testing.B, k kv, tags []string) kv {
	b.Helper()
	g, ok := k.(gormcacheKV)
	if !ok {
		b.Skip(errUnsupported)
	}
	tagged := g.WithTags(tags...)
	all := make(map[string]any, rows)
	for i, key := range hitKeys {
		all[key] = &values[i]
	}
	if err := cache.SetMany(tagged.(gormcacheKV).db, all); err != nil {
		b.Fatalf("tag the entries: %v", err)
	}
	return tagged
}

func benchIncrement(b *testing.B, k kv) {
	if _, err := k.Increment(counterKeys[0], 0); err != nil {
		skipUnsupported(b, err)
		b.Fatalf("increment: %v", err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := increment(k, i); err != nil {
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
