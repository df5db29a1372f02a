// Command invalidation times gormcache's InvalidateTags, DeletePrefix and
// Trim on a large table against what they replace, on SQLite, on
// PostgreSQL (when CACHE_TEST_POSTGRES_DSN is set) and on MySQL (when
// CACHE_TEST_MYSQL_DSN is set):
//
//	go run ./cmd/invalidation            # 1,000,000 rows
//	go run ./cmd/invalidation -rows 100000
//
// Each table holds rows live entries (benchdb.AllLive). InvalidateTags of
// one tag carried by 1,000 entries spread over the table runs against
// DeleteMany of the same 1,000 keys; DeletePrefix matching 100 keys against
// DeleteMany of those keys (-repeat runs each, alternating, the entries
// written again between runs; medians). Trim from rows to rows/2 entries
// runs against one bare DELETE of the same rows, each on a freshly loaded
// and settled table (-deletes runs each, alternating; medians, and the
// longest batch of all the Trim runs).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/bench/internal/benchdb"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "entries to load")
	repeat := flag.Int("repeat", 9, "runs of InvalidateTags, DeletePrefix and their DeleteMany, alternating; the medians are printed")
	deletes := flag.Int("deletes", 3, "runs of the bare DELETE and of Trim, alternating, each on a fresh table; the medians are printed")
	only := flag.String("db", "", "run only this database (sqlite, postgres or mysql); default: every one configured")
	flag.Parse()
	if *repeat < 1 || *deletes < 1 || *rows < 100_000 {
		fmt.Fprintln(os.Stderr, "invalidation: -repeat and -deletes must be at least 1, -rows at least 100000")
		os.Exit(2)
	}
	if err := run(context.Background(), *rows, *repeat, *deletes, *only); err != nil {
		fmt.Fprintln(os.Stderr, "invalidation:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rows, repeat, deletes int, only string) error {
	dir, err := os.MkdirTemp("", "gormcache-invalidation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("rows: %d\n\n", rows)
	fmt.Printf("%-9s %-28s %12s %8s %14s\n", "db", "what", "total", "batches", "longest batch")
	return benchdb.EachDatabase(ctx, dir, "invalidation", only, func(db, dsn string) error {
		return measure(ctx, db, dsn, rows, repeat, deletes)
	})
}

func measure(ctx context.Context, name, dsn string, rows, repeat, deletes int) error {
	rec := benchdb.NewBatches()
	g, sqlDB, err := benchdb.OpenMigrated(ctx, dsn, rec)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	pg := name == "postgres"
	load := func() error {
		if err := benchdb.Empty(ctx, sqlDB, pg, "cached_items", "cached_items_tags"); err != nil {
			return err
		}
		return benchdb.LoadItems(ctx, sqlDB, pg, rows, benchdb.AllLive)
	}
	line := func(what string, total time.Duration, batches int, longest time.Duration) {
		b, l := "", ""
		if batches > 0 {
			b, l = fmt.Sprint(batches), longest.Round(time.Microsecond).String()
		}
		fmt.Printf("%-9s %-28s %12s %8s %14s\n", name, what, total.Round(time.Microsecond), b, l)
	}
	ratio := func(what string, a, b time.Duration) {
		fmt.Printf("%-9s %-28s %12.2fx\n", "", what, float64(a)/float64(b))
	}
	if err := load(); err != nil {
		return err
	}

	// The 1,000 tagged entries, spread over the table, and the 100 keys of
	// one prefix ("item:00012" + two digits).
	tagged := map[string]any{}
	var taggedKeys, prefixKeys []string
	for i := range 1000 {
		k := benchdb.Key(i * (rows / 1000))
		tagged[k] = benchdb.Value(i * (rows / 1000))
		taggedKeys = append(taggedKeys, k)
	}
	prefixed := map[string]any{}
	for i := 1200; i < 1300; i++ {
		prefixed[benchdb.Key(i)] = benchdb.Value(i)
		prefixKeys = append(prefixKeys, benchdb.Key(i))
	}
	const prefix = "item:00012"
	tagDB := cache.WithTags(g, "bench:product:7")
	timed := func(ts *[]time.Duration, wantN int64, f func() (int64, error)) error {
		begin := time.Now()
		n, err := f()
		*ts = append(*ts, time.Since(begin))
		if err == nil && n != wantN {
			err = fmt.Errorf("deleted %d entries, not %d", n, wantN)
		}
		return err
	}
	pair := func(restore func() error, a, b func() error) error {
		for i := range 2 * repeat {
			if err := restore(); err != nil {
				return err
			}
			f := a
			if i%2 == 1 {
				f = b
			}
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}

	var manyT, invT []time.Duration
	err = pair(func() error { return cache.SetMany(tagDB, tagged) },
		func() error {
			return timed(&manyT, 1000, func() (int64, error) { return cache.DeleteMany(g, taggedKeys) })
		},
		func() error {
			return timed(&invT, 1000, func() (int64, error) { return cache.InvalidateTags(g, "bench:product:7") })
		})
	if err != nil {
		return err
	}
	line("DeleteMany (1000)", median(manyT), 0, 0)
	line("InvalidateTags (1000)", median(invT), 0, 0)
	ratio("InvalidateTags / DeleteMany", median(invT), median(manyT))

	var many100T, prefixT []time.Duration
	err = pair(func() error { return cache.SetMany(g, prefixed) },
		func() error {
			return timed(&many100T, 100, func() (int64, error) { return cache.DeleteMany(g, prefixKeys) })
		},
		func() error {
			return timed(&prefixT, 100, func() (int64, error) { return cache.DeletePrefix(g, prefix) })
		})
	if err != nil {
		return err
	}
	line("DeleteMany (100)", median(many100T), 0, 0)
	line("DeletePrefix (100)", median(prefixT), 0, 0)
	ratio("DeletePrefix / DeleteMany", median(prefixT), median(many100T))

	// Trim to half against one bare DELETE of the same rows (the oldest by
	// last write, then id), each on a fresh table. The longest batch is the
	// longest statement that deletes; the reads that find the cutoff and the
	// ends of the batches lock nothing.
	keep := rows / 2
	del := `DELETE FROM cached_items WHERE id IN (SELECT id FROM cached_items ORDER BY updated_at, id LIMIT ?)`
	switch name {
	case "postgres":
		del = `DELETE FROM cached_items WHERE id = ANY(ARRAY(SELECT id FROM cached_items ORDER BY updated_at, id LIMIT $1))`
	case "mysql": // no LIMIT in a subquery of IN, nor one on the table deleted from
		del = `DELETE FROM cached_items ORDER BY updated_at, id LIMIT ?`
	}
	var bareT, trimT, longestT []time.Duration
	var batches []int
	bareRun := func() error {
		if err := load(); err != nil {
			return err
		}
		begin := time.Now()
		res, err := sqlDB.ExecContext(ctx, del, rows-keep)
		if err != nil {
			return err
		}
		bareT = append(bareT, time.Since(begin))
		if n, _ := res.RowsAffected(); n != int64(rows-keep) {
			return fmt.Errorf("bare DELETE deleted %d rows", n)
		}
		return nil
	}
	trimRun := func() error {
		if err := load(); err != nil {
			return err
		}
		rec.Reset()
		err := timed(&trimT, int64(rows-keep), func() (int64, error) {
			return cache.Trim(g, cache.Limits{MaxEntries: int64(keep)})
		})
		if err != nil {
			return err
		}
		took := rec.Reset()
		longestT = append(longestT, slices.Max(append(took, 0)))
		batches = append(batches, len(took))
		return nil
	}
	for i := range deletes {
		first, second := bareRun, trimRun
		if i%2 == 1 {
			first, second = trimRun, bareRun
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
	}
	line(fmt.Sprintf("bare DELETE (%d)", rows-keep), median(bareT), 1, median(bareT))
	line(fmt.Sprintf("Trim (%d)", rows-keep), median(trimT), slices.Max(batches), slices.Max(longestT))
	ratio("Trim / DELETE", median(trimT), median(bareT))
	fmt.Println()
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
