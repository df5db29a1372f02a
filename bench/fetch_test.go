package bench_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/bench/internal/benchdb"
)

// fetchDBs are the databases of BenchmarkFetch and BenchmarkLock.
var fetchDBs = []string{"sqlite", "postgres", "mysql"}

// fetchKeys are the keys BenchmarkFetch reads: 100, so that
// FetchStaleHit holds 100 refreshes in flight, as a slow upstream would
// for the keys read within its latency. With 10,000 parked loaders every
// garbage collection scanned 10,000 stacks, which cost SQLite's stale hit
// more than Fetch itself did. They are the first of hitKeys, a stride
// through the table.
func fetchKeys() []string { return hitKeys[:100] }

// fetchOps are BenchmarkFetch's operations, in the order of the round
// (BENCH_ROUND): on even rounds backwards, so that none always runs first
// or last, as implsFor does for BenchmarkOps.
func fetchOps() []string {
	if r, err := strconv.Atoi(os.Getenv("BENCH_ROUND")); err == nil && r%2 == 0 {
		return []string{"FetchStaleHit", "FetchHit", "GetOrSetHit"}
	}
	return []string{"GetOrSetHit", "FetchHit", "FetchStaleHit"}
}

// BenchmarkFetch compares Fetch's reads with GetOrSet's hit, the read it
// builds on: BenchmarkFetch/<db>/<op>. GetOrSetHit and FetchHit read live
// entries; FetchStaleHit reads entries past their TTL, within Stale, whose
// refreshes are all under way (their loaders block), so each call returns
// the old value at once, as under a slow upstream. Each reads 100 keys whose
// rows it has just rewritten.
func BenchmarkFetch(b *testing.B) {
	for _, db := range fetchDBs {
		b.Run(db, func(b *testing.B) {
			for _, op := range fetchOps() {
				b.Run(op, func(b *testing.B) {
					g := fresh(b, db, "gormcache").(gormcacheKV).db
					keys := fetchKeys()
					opts := cache.FetchOptions{TTL: ttl, Stale: time.Hour}
					load := func(context.Context) (Item, error) { return values[0], nil }
					// Every op rewrites the expiry of the keys it reads and
					// settles the table (as after a load: PostgreSQL's dead
					// rows, InnoDB's purge), so that the three read rows of
					// one shape in a table in one state. FetchStaleHit's
					// keys expired a minute ago, the others' expire later.
					exp := time.Now().UTC().Add(ttl)
					if op == "FetchStaleHit" {
						exp = time.Now().UTC().Add(-time.Minute)
					}
					if err := g.Model(&cache.CachedItem{}).Where(map[string]any{"key": keys}).Update("expires_at", exp).Error; err != nil {
						b.Fatal(err)
					}
					if op == "FetchStaleHit" {
						block := make(chan struct{})
						b.Cleanup(func() { close(block) })
						var called sync.WaitGroup
						called.Add(len(keys))
						// Failing once unblocked, the refreshes store nothing
						// that could meet the next benchmark's fresh table.
						load = func(context.Context) (Item, error) {
							called.Done()
							<-block
							return Item{}, errors.New("upstream down")
						}
						for _, k := range keys { // start every refresh
							if _, err := cache.Fetch(g, k, load, opts); err != nil {
								b.Fatal(err)
							}
						}
						// Each refresh reads the row again before it loads:
						// those reads are done before the timer starts.
						called.Wait()
					}
					if err := settle(b, db, g); err != nil {
						b.Fatal(err)
					}
					compute := func() (Item, error) { return values[0], nil }
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; b.Loop(); i++ {
						var err error
						if op == "GetOrSetHit" {
							_, err = cache.GetOrSet(g, keys[i%len(keys)], compute, cache.In(ttl))
						} else {
							_, err = cache.Fetch(g, keys[i%len(keys)], load, opts)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkLock measures a Lock's TryAcquire and Release, one after the
// other, on a free lock: BenchmarkLock/<db>/AcquireRelease.
func BenchmarkLock(b *testing.B) {
	for _, db := range fetchDBs {
		b.Run(db+"/AcquireRelease", func(b *testing.B) {
			g := fresh(b, db, "gormcache").(gormcacheKV).db
			l := cache.NewLock(g, "bench", time.Minute)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if ok, err := l.TryAcquire(); err != nil || !ok {
					b.Fatalf("acquire: %v %v", ok, err)
				}
				if ok, err := l.Release(); err != nil || !ok {
					b.Fatalf("release: %v %v", ok, err)
				}
			}
		})
	}
}

// settle settles the table of g, on the database db, as a load does
// (benchdb.Settle).
func settle(b *testing.B, db string, g *gorm.DB) error {
	b.Helper()
	sqlDB, err := g.DB()
	if err != nil {
		return err
	}
	return benchdb.Settle(context.Background(), sqlDB, db == "postgres", "cached_items")
}
