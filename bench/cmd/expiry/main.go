// Command expiry times gormcache's ClearExpired and Stats on a large table
// against the bare SQL they replace, on SQLite and on PostgreSQL (when
// CACHE_TEST_POSTGRES_DSN is set):
//
//	go run ./cmd/expiry            # 1,000,000 rows
//	go run ./cmd/expiry -rows 100000
//
// Each table holds rows entries: half expired, a quarter expiring in an
// hour, a quarter that never expire. ClearExpired and the bare DELETE each
// start from a freshly loaded table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/bench/internal/benchdb"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "entries to load")
	repeat := flag.Int("repeat", 5, "runs of each Stats query, alternating; the medians are printed")
	flag.Parse()
	if err := run(context.Background(), *rows, *repeat); err != nil {
		fmt.Fprintln(os.Stderr, "expiry:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rows, repeat int) error {
	dir, err := os.MkdirTemp("", "gormcache-expiry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("rows: %d (%d expired)\n\n", rows, (rows+1)/2)
	fmt.Printf("%-9s %-22s %12s %8s %14s\n", "db", "what", "total", "batches", "longest batch")
	dbs := []string{"sqlite"}
	base := os.Getenv(benchdb.PostgresEnv)
	if base != "" {
		dbs = append(dbs, "postgres")
	} else {
		fmt.Fprintf(os.Stderr, "skipping PostgreSQL: set %s to run it\n", benchdb.PostgresEnv)
	}
	for _, name := range dbs {
		dsn := filepath.Join(dir, "expiry.db")
		if name == "postgres" {
			var drop func() error
			if dsn, drop, err = benchdb.NewSchema(ctx, base, "gormcache_bench_expiry"); err != nil {
				return err
			}
			defer drop() //nolint:errcheck // best effort
		}
		if err := measure(ctx, name, dsn, rows, repeat); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// statements records the duration of every statement gormcache runs.
type statements struct {
	logger.Interface
	mu   sync.Mutex
	took []time.Duration
}

func (s *statements) Trace(_ context.Context, begin time.Time, _ func() (string, int64), _ error) {
	d := time.Since(begin)
	s.mu.Lock()
	s.took = append(s.took, d)
	s.mu.Unlock()
}

func (s *statements) reset() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.took
	s.took = nil
	return t
}

func measure(ctx context.Context, name, dsn string, rows, repeat int) error {
	rec := &statements{Interface: logger.Default.LogMode(logger.Silent)}
	g, err := benchdb.Open(dsn)
	if err != nil {
		return err
	}
	g = g.Session(&gorm.Session{Logger: rec, Context: ctx})
	sqlDB, err := g.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if err := cache.AutoMigrate(g); err != nil {
		return err
	}
	pg := name == "postgres"
	load := func() error {
		if _, err := sqlDB.ExecContext(ctx, `DELETE FROM cached_items`); err != nil {
			return err
		}
		if pg {
			if _, err := sqlDB.ExecContext(ctx, `VACUUM cached_items`); err != nil {
				return err
			}
		}
		if err := benchdb.LoadItems(ctx, sqlDB, pg, rows, benchdb.HalfExpired); err != nil {
			return err
		}
		if pg {
			_, err = sqlDB.ExecContext(ctx, `VACUUM ANALYZE cached_items`)
		} else {
			err = benchdb.Checkpoint(ctx, sqlDB)
		}
		return err
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
			return fmt.Errorf("Stats %+v disagrees with the raw count %d %d %d %d", st, a, b, c, d)
		}
	}
	line("raw COUNT(*) FILTER", median(rawT), 0, 0)
	line("Stats", median(statsT), 0, 0)
	fmt.Printf("%-9s %-22s %12.2fx\n", "", "Stats / raw", float64(median(statsT))/float64(median(rawT)))

	// The bare DELETE.
	now := time.Now().UTC()
	del := `DELETE FROM cached_items WHERE expires_at < ?`
	if pg {
		del = `DELETE FROM cached_items WHERE expires_at < $1`
	}
	begin := time.Now()
	res, err := sqlDB.ExecContext(ctx, del, now)
	if err != nil {
		return err
	}
	bare := time.Since(begin)
	n, _ := res.RowsAffected()
	line(fmt.Sprintf("bare DELETE (%d)", n), bare, 1, bare)

	// ClearExpired on a fresh table.
	if err := load(); err != nil {
		return err
	}
	rec.reset()
	begin = time.Now()
	deleted, err := cache.ClearExpired(g)
	total := time.Since(begin)
	if err != nil {
		return err
	}
	took := rec.reset()
	if deleted != n {
		return errors.New("ClearExpired and the bare DELETE deleted different counts")
	}
	line(fmt.Sprintf("ClearExpired (%d)", deleted), total, len(took), slices.Max(append(took, 0)))
	fmt.Printf("%-9s %-22s %12.2fx\n", "", "ClearExpired / DELETE", float64(total)/float64(bare))
	fmt.Println()
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
