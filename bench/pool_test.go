package bench_test

import (
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gormcache/cache/bench/internal/benchdb"
)

// BenchmarkPool compares two SQLite pool set-ups under 16 goroutines:
// BenchmarkPool/sqlite/<pool>/<op>. "shared16" runs reads and writes on one
// pool of 16 connections; "writer1" sends writes through a second pool of
// one connection on the same file, so writers queue in Go instead of
// spinning on SQLite's busy timeout. Besides ns/op it reports the slowest
// single operation (worst-ns).
func BenchmarkPool(b *testing.B) {
	for _, pool := range []string{"shared16", "writer1"} {
		b.Run("sqlite/"+pool, func(b *testing.B) {
			for _, op := range []struct {
				name   string
				writes int // of every 10 operations
			}{{"SetParallel", 10}, {"MixedParallel", 2}} {
				b.Run(op.name, func(b *testing.B) {
					tmpl, err := sqliteTemplate("items")
					if err != nil {
						b.Fatal(err)
					}
					path := filepath.Join(env.dir, "pool-"+strconv.FormatInt(env.seq.Add(1), 10)+".db")
					if err := copyFile(path, tmpl); err != nil {
						b.Fatal(err)
					}
					open := func(conns int) gormcacheKV {
						g, err := benchdb.Open(path)
						if err != nil {
							b.Fatal(err)
						}
						sqlDB, _ := g.DB()
						sqlDB.SetMaxOpenConns(conns)
						sqlDB.SetMaxIdleConns(conns)
						b.Cleanup(func() { _ = sqlDB.Close() })
						return gormcacheKV{g}
					}
					reads := open(16)
					writes := reads
					if pool == "writer1" {
						writes = open(1)
					}
					var (
						next  atomic.Int64
						mu    sync.Mutex
						worst time.Duration
					)
					b.SetParallelism(8)
					b.ReportAllocs()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						var v Item
						var slowest time.Duration
						i := int(next.Add(1)) * 1000
						for ; pb.Next(); i++ {
							start := time.Now()
							var err error
							if i%10 < op.writes {
								err = writes.Set(hitKeys[i%rows], &values[i%rows])
							} else {
								_, err = reads.Get(hitKeys[i%rows], &v)
							}
							if err != nil {
								b.Errorf("op: %v", err)
								return
							}
							slowest = max(slowest, time.Since(start))
						}
						mu.Lock()
						worst = max(worst, slowest)
						mu.Unlock()
					})
					b.ReportMetric(float64(worst.Nanoseconds()), "worst-ns")
				})
			}
		})
	}
}
