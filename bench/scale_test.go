package bench_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/bench/internal/benchdb"
)

// BenchmarkScale measures gormcache's GetHit on tables of 10,000 to
// 1,000,000 entries: BenchmarkScale/<db>/<rows>. It should stay flat. Each
// table is loaded once per process; -short leaves out the million.
// sqlite-cache64m is SQLite with a 64 MiB page cache per connection
// (_cache_size=-65536) instead of the default 2 MiB. sqlite-raw and
// postgres-raw and mysql-raw run raw's Get (see BenchmarkOps) on the same
// tables as sqlite, postgres and mysql: how much of the growth is the
// database's own.
func BenchmarkScale(b *testing.B) {
	sizes := []int{10_000, 100_000, 1_000_000}
	if testing.Short() {
		sizes = sizes[:2]
	}
	for _, db := range []string{"sqlite", "sqlite-raw", "sqlite-cache64m", "postgres", "postgres-raw", "mysql", "mysql-raw"} {
		b.Run(db, func(b *testing.B) {
			for _, n := range sizes {
				b.Run(strconv.Itoa(n), func(b *testing.B) {
					g := scaleDB(b, strings.TrimSuffix(db, "-raw"), n)
					var k kv = gormcacheKV{g}
					if strings.HasSuffix(db, "-raw") {
						sqlDB, _ := g.DB()
						r, err := newRawKV(context.Background(), sqlDB, db == "postgres-raw")
						if err != nil {
							b.Fatal(err)
						}
						defer r.Close()
						k = r
					}
					keys := make([]string, rows)
					for i := range keys {
						keys[i] = benchdb.Key(i * 7919 % n)
					}
					var v Item
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; b.Loop(); i++ {
						if ok, err := k.Get(keys[i%len(keys)], &v); err != nil || !ok {
							b.Fatalf("get %s: %v, %v", keys[i%len(keys)], ok, err)
						}
					}
				})
			}
		})
	}
}

// scaleDB returns a gormcache table of n live entries on db, loaded once per
// process.
func scaleDB(b *testing.B, db string, n int) *gorm.DB {
	b.Helper()
	var base string
	switch db {
	case "postgres":
		base = pgDSN(b)
	case "mysql":
		base = mysqlDSN(b)
	}
	g, err := shared("scale-"+db+"-"+strconv.Itoa(n), func() (*gorm.DB, error) {
		ctx := context.Background()
		dsn := filepath.Join(env.dir, "scale-"+db+"-"+strconv.Itoa(n)+".db")
		if db == "postgres" {
			var drop func() error
			var err error
			if dsn, drop, err = benchdb.NewSchema(ctx, base, "gormcache_bench_scale"); err != nil {
				return nil, err
			}
			atExit(func() { _ = drop() })
		}
		if db == "mysql" {
			var drop func() error
			var err error
			if dsn, drop, err = benchdb.NewDatabase(ctx, base, "scale"); err != nil {
				return nil, err
			}
			atExit(func() { _ = drop() })
		}
		g, err := benchdb.Open(dsn)
		if db == "sqlite-cache64m" {
			g, err = gorm.Open(sqlite.Open(benchdb.SQLiteDSN(dsn)+"&_cache_size=-65536"), benchdb.GormConfig())
		}
		if err != nil {
			return nil, err
		}
		sqlDB, _ := g.DB()
		tunePool(sqlDB)
		atExit(func() { _ = sqlDB.Close() })
		if err := cache.AutoMigrate(g); err != nil {
			return nil, err
		}
		return g, benchdb.LoadItems(ctx, sqlDB, db == "postgres", n, benchdb.AllLive)
	})
	if err != nil {
		b.Fatalf("load %d rows on %s: %v", n, db, err)
	}
	return g
}
