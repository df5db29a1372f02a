package cache_test

import (
	"fmt"
	"testing"
	"time"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// The comparative benchmarks (raw SQL, naive GORM, Redis) live in the bench
// module; these track the library's own hot paths: go test -bench . -run '^$'
func BenchmarkCache(b *testing.B) {
	type value struct {
		ID    int      `json:"id"`
		Name  string   `json:"name"`
		Tags  []string `json:"tags"`
		Score float64  `json:"score"`
	}
	for _, be := range cachetest.Backends(b) {
		db := be.DB
		values := make(map[string]any, 1000)
		for i := range 1000 {
			values[fmt.Sprintf("key:%d", i)] = value{ID: i, Name: "benchmark value", Tags: []string{"a", "b"}, Score: 1.5}
		}
		if err := cache.SetMany(db, values, cache.In(time.Hour)); err != nil {
			b.Fatal(err)
		}
		b.Run(be.Name+"/GetHit", func(b *testing.B) {
			b.ReportAllocs()
			var v value
			for i := 0; b.Loop(); i++ {
				if ok, err := cache.Cached(db, fmt.Sprintf("key:%d", i%1000)).Get(&v); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(be.Name+"/GetMiss", func(b *testing.B) {
			b.ReportAllocs()
			var v value
			for b.Loop() {
				if ok, err := cache.Cached(db, "missing").Get(&v); err != nil || ok {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(be.Name+"/Set", func(b *testing.B) {
			b.ReportAllocs()
			v := value{ID: 1, Name: "benchmark value", Tags: []string{"a", "b"}, Score: 1.5}
			for i := 0; b.Loop(); i++ {
				if err := cache.Cached(db, fmt.Sprintf("key:%d", i%1000)).Set(v, cache.In(time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(be.Name+"/Increment", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cache.Cached(db, "counter").Increment(1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
