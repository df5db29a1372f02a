// Command expiry times gormcache's ClearExpired and Stats on a large table
// against the bare SQL they replace, on SQLite, on PostgreSQL (when
// CACHE_TEST_POSTGRES_DSN is set) and on MySQL (when CACHE_TEST_MYSQL_DSN is
// set):
//
//	go run ./cmd/expiry            # 1,000,000 rows
//	go run ./cmd/expiry -rows 100000
//
// Each table holds rows entries: half expired, a quarter expiring in an
// hour, a quarter that never expire. ClearExpired and the bare DELETE each
// start from a freshly loaded and settled table (benchdb.Settle); they run
// -deletes times each, alternating: the median total time is printed, and
// the longest batch (slowest deleting statement) of all the ClearExpired
// runs. On MySQL a table is emptied with TRUNCATE before each load, and
// settling waits for InnoDB's purge, so no purge of the last run goes on
// into the next; each run is also timed until its own purge is done, and
// the target compares those times (see measure).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/bench/internal/benchdb"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "entries to load")
	repeat := flag.Int("repeat", 5, "runs of each Stats query, alternating; the medians are printed")
	deletes := flag.Int("deletes", 3, "runs of the bare DELETE and of ClearExpired, alternating, each on a fresh table; the medians are printed")
	only := flag.String("db", "", "run only this database (sqlite, postgres or mysql); default: every one configured")
	flag.Parse()
	if *repeat < 1 || *deletes < 1 {
		fmt.Fprintln(os.Stderr, "expiry: -repeat and -deletes must be at least 1")
		os.Exit(2)
	}
	if err := run(context.Background(), *rows, *repeat, *deletes, *only); err != nil {
		fmt.Fprintln(os.Stderr, "expiry:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rows, repeat, deletes int, only string) error {
	dir, err := os.MkdirTemp("", "gormcache-expiry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("rows: %d (%d expired)\n\n", rows, (rows+1)/2)
	fmt.Printf("%-9s %-22s %12s %8s %14s\n", "db", "what", "total", "batches", "longest batch")
	return benchdb.EachDatabase(ctx, dir, "expiry", only, func(db, dsn string) error {
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
		if err := benchdb.Empty(ctx, sqlDB, pg, "cached_items"); err != nil {
			return err
		}
		return benchdb.LoadItems(ctx, sqlDB, pg, rows, benchdb.HalfExpired)
	}
	line := func(what string, total time.Duration, batches int, longest time.Duration) {
		b, l := "", ""
		if batches > 0 {
			b, l = fmt.Sprint(batches), longest.Round(time.Microsecond).String()
		}
		fmt.Printf("%-9s %-22s %12s %8s %14s\n", name, what, total.Round(time.Microsecond), b, l)
	}

	// Stats against one raw pass, interleaved.
	if err := load(); err != nil {
		return err
	}
	raw := `SELECT COUNT(*), COUNT(*) FILTER (WHERE expires_at < ?), COUNT(*) FILTER (WHERE expires_at >= ?), ` +
		`COUNT(*) FILTER (WHERE expires_at IS NULL) FROM cached_items`
	if name == "mysql" { // no FILTER: SUM of the conditions
		raw = `SELECT COUNT(*), COALESCE(SUM(expires_at < ?), 0), COALESCE(SUM(expires_at >= ?), 0), ` +
			`COALESCE(SUM(expires_at IS NULL), 0) FROM cached_items`
	}
	if pg {
		raw = strings.Replace(strings.Replace(raw, "?", "$1", 1), "?", "$2", 1)
	}
	var statsT, rawT []time.Duration
	var st cache.Statistics
	for i := range 2 * repeat {
		// Alternate which of the two goes first.
		if i%2 == 1 {
			begin := time.Now()
			if st, err = cache.Stats(g); err != nil {
				return err
			}
			statsT = append(statsT, time.Since(begin))
			continue
		}
		begin := time.Now()
		var a, b, c, d int64
		now := time.Now().UTC()
		if err := sqlDB.QueryRowContext(ctx, raw, now, now).Scan(&a, &b, &c, &d); err != nil {
			return fmt.Errorf("raw count: %w", err)
		}
		rawT = append(rawT, time.Since(begin))
		if i > 0 && (st.Total != a || st.Expired != b || st.Unexpired != c || st.Forever != d) {
			return fmt.Errorf("stats %+v disagrees with the raw count %d %d %d %d", st, a, b, c, d)
		}
	}
	line("raw COUNT(*)", median(rawT), 0, 0)
	line("Stats", median(statsT), 0, 0)
	fmt.Printf("%-9s %-22s %12.2fx\n", "", "Stats / raw", float64(median(statsT))/float64(median(rawT)))

	// The bare DELETE and ClearExpired, alternating which goes first, each
	// on a fresh table.
	del := `DELETE FROM cached_items WHERE expires_at < ?`
	if pg {
		del = `DELETE FROM cached_items WHERE expires_at < $1`
	}
	var bareT, clearT, longestT, barePT, clearPT []time.Duration
	var bareN, clearN int64
	var batches []int
	bareRun := func() error {
		if err := load(); err != nil {
			return err
		}
		begin := time.Now()
		res, err := sqlDB.ExecContext(ctx, del, time.Now().UTC())
		if err != nil {
			return err
		}
		bareT = append(bareT, time.Since(begin))
		bareN, _ = res.RowsAffected()
		if name == "mysql" {
			wait, err := benchdb.WaitPurge(ctx, sqlDB)
			barePT = append(barePT, bareT[len(bareT)-1]+wait)
			return err
		}
		return nil
	}
	clearRun := func() error {
		if err := load(); err != nil {
			return err
		}
		rec.Reset()
		begin := time.Now()
		deleted, err := cache.ClearExpired(g)
		clearT = append(clearT, time.Since(begin))
		if err != nil {
			return err
		}
		took := rec.Reset()
		longestT = append(longestT, slices.Max(append(took, 0)))
		batches = append(batches, len(took))
		clearN = deleted
		if name == "mysql" {
			wait, err := benchdb.WaitPurge(ctx, sqlDB)
			clearPT = append(clearPT, clearT[len(clearT)-1]+wait)
			return err
		}
		return nil
	}
	for i := range deletes {
		first, second := bareRun, clearRun
		if i%2 == 1 {
			first, second = clearRun, bareRun
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
	}
	if bareN != clearN {
		return fmt.Errorf("ClearExpired deleted %d rows, the bare DELETE %d", clearN, bareN)
	}
	line(fmt.Sprintf("bare DELETE (%d)", bareN), median(bareT), 1, median(bareT))
	line(fmt.Sprintf("ClearExpired (%d)", clearN), median(clearT), slices.Max(batches), slices.Max(longestT))
	if name != "mysql" {
		fmt.Printf("%-9s %-22s %12.2fx\n", "", "ClearExpired / DELETE", float64(median(clearT))/float64(median(bareT)))
		fmt.Println()
		return nil
	}
	// InnoDB removes deleted rows in the background (the purge). A batch
	// of ClearExpired is timed while the purge of the batches before it
	// runs beside it; the bare DELETE returns with all of its purge still
	// to come. Timed until the purge is done, each pays for all its work.
	fmt.Printf("%-9s %-22s %12.2fx\n", "", "statements only: ClearExpired / DELETE", float64(median(clearT))/float64(median(bareT)))
	line("bare DELETE + purge", median(barePT), 0, 0)
	line("ClearExpired + purge", median(clearPT), 0, 0)
	fmt.Printf("%-9s %-22s %12.2fx\n", "", "purges included: ClearExpired / DELETE", float64(median(clearPT))/float64(median(barePT)))
	fmt.Println()
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
