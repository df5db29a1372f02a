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

// BenchmarkFetch reads 100 live and 100 stale keys, the first 200 of
// hitKeys (a stride through the table): 100 stale keys hold 100 refreshes
// in flight, as a slow upstream would for the keys read within its
// latency. With 10,000 parked loaders every garbage collection scanned
// 10,000 stacks, which cost SQLite's stale hit more than Fetch itself did.
func fetchKeys() (live, stale []string) { return hitKeys[:100], hitKeys[100:200] }

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
// the old value at once, as under a slow upstream. All read one table,
// whose rows of the keys read were rewritten (one value; live ones to
// expire in an hour, stale ones a minute ago) and settled before the
// timers start.
//
// Interleaved runs the three reads in turn in one loop (in a random
// order each time, each on a key of its own) and reports the ratio of each Fetch's
// summed time to GetOrSet's: "hit/getorset" and "stale/getorset". On a
// shared machine whose speed drifts by 10–20% from one second to the next,
// three one-second runs, one after the other, compare the drift as much as
// the reads; reads in turn meet the same drift.
func BenchmarkFetch(b *testing.B) {
	for _, db := range fetchDBs {
		b.Run(db, func(b *testing.B) {
			g := fresh(b, db, "gormcache").(gormcacheKV).db
			live, stale := fetchKeys()
			// The rows read hold one value, so that the reads differ by
			// what they do, not by what they decode.
			same := map[string]any{}
			for _, k := range append(live[:len(live):len(live)], stale...) {
				same[k] = values[0]
			}
			if err := cache.SetMany(g, same); err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC()
			for _, w := range []struct {
				keys []string
				exp  time.Time
			}{{live, now.Add(ttl)}, {stale, now.Add(-time.Minute)}} {
				if err := g.Model(&cache.CachedItem{}).Where(map[string]any{"key": w.keys}).Update("expires_at", w.exp).Error; err != nil {
					b.Fatal(err)
				}
			}
			opts := cache.FetchOptions{TTL: ttl, Stale: time.Hour}
			block := make(chan struct{})
			b.Cleanup(func() { close(block) })
			var called sync.WaitGroup
			called.Add(len(stale))
			// Failing once unblocked, the refreshes store nothing.
			load := func(context.Context) (Item, error) {
				called.Done()
				<-block
				return Item{}, errors.New("upstream down")
			}
			for _, k := range stale { // start every refresh
				if _, err := cache.Fetch(g, k, load, opts); err != nil {
					b.Fatal(err)
				}
			}
			// Each refresh reads the row again before it loads: those
			// reads are done before the timers start. As after a load, the
			// updates' background work (PostgreSQL's dead rows, InnoDB's
			// purge) is done too.
			called.Wait()
			if err := settle(b, db, g); err != nil {
				b.Fatal(err)
			}
			compute := func() (Item, error) { return values[0], nil }
			read := map[string]func(i int) error{
				"GetOrSetHit": func(i int) error {
					_, err := cache.GetOrSet(g, live[i%len(live)], compute, cache.In(ttl))
					return err
				},
				"FetchHit": func(i int) error {
					_, err := cache.Fetch(g, live[(i+len(live)/2)%len(live)], load, opts)
					return err
				},
				"FetchStaleHit": func(i int) error {
					_, err := cache.Fetch(g, stale[i%len(stale)], load, opts)
					return err
				},
			}
			for _, op := range fetchOps() {
				b.Run(op, func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; b.Loop(); i++ {
						if err := read[op](i); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("Interleaved", func(b *testing.B) {
				ops := []string{"GetOrSetHit", "FetchHit", "FetchStaleHit"}
				sum := inTurn(b, ops, func(x, i int) error { return read[ops[x]](i) })
				b.ReportMetric(float64(sum[1])/float64(sum[0]), "hit/getorset")
				b.ReportMetric(float64(sum[2])/float64(sum[0]), "stale/getorset")
			})
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
