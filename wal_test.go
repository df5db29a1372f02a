package cache_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/opentelemetry-go-extra/otelgorm"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// walBound is the largest -wal file the tests accept. SQLite checkpoints
// once the WAL holds 1000 pages (4 MiB at 4 KiB pages) and then writes it
// again from the start, so a file that stays under 8 MiB is being
// checkpointed. Before statements that return rows were read to the end,
// 3000 Increments left 37 MB.
const walBound = 8 << 20

// TestWALBounded runs 3000 calls of each write operation on a SQLite file
// opened with the recommended DSN, with and without a GORM plugin (the two
// paths to the database), and checks that the -wal file stays under
// walBound: every write lets SQLite's automatic checkpoint run.
func TestWALBounded(t *testing.T) {
	t.Parallel()
	const calls = 3000
	hour := cache.In(time.Hour)
	ops := []struct {
		name string
		do   func(db *gorm.DB, i int) error
	}{
		{"Set", func(db *gorm.DB, i int) error { return cache.Cached(db, "k").Set(i, hour) }},
		{"Add", func(db *gorm.DB, i int) error {
			_, err := cache.Cached(db, fmt.Sprint("k", i)).Add(i, hour)
			return err
		}},
		{"Increment", func(db *gorm.DB, _ int) error {
			_, err := cache.Cached(db, "n").Increment(1, hour)
			return err
		}},
		{"Decrement", func(db *gorm.DB, _ int) error {
			_, err := cache.Cached(db, "n").Decrement(1)
			return err
		}},
		{"IncrementRefused", func(db *gorm.DB, i int) error {
			if i == 0 {
				if err := cache.Cached(db, "s").Set("text"); err != nil {
					return err
				}
			}
			_, err := cache.Cached(db, "s").Increment(1)
			if err != nil && !errors.Is(err, cache.ErrNotNumber) {
				return err
			}
			return nil
		}},
		{"Touch", func(db *gorm.DB, i int) error {
			if i == 0 {
				if err := cache.Cached(db, "k").Set(i); err != nil {
					return err
				}
			}
			_, err := cache.Cached(db, "k").Touch(hour)
			return err
		}},
		{"Delete", func(db *gorm.DB, i int) error {
			if _, err := cache.Cached(db, "k").Add(i); err != nil {
				return err
			}
			_, err := cache.Cached(db, "k").Delete()
			return err
		}},
		{"GetOrSet", func(db *gorm.DB, i int) error {
			_, err := cache.GetOrSet(db, fmt.Sprint("k", i), func() (int, error) { return i, nil }, hour)
			return err
		}},
		{"SetMany+DeleteMany", func(db *gorm.DB, i int) error {
			keys := []string{fmt.Sprint("a", i), fmt.Sprint("b", i)}
			if err := cache.SetMany(db, map[string]any{keys[0]: i, keys[1]: i}, hour); err != nil {
				return err
			}
			_, err := cache.DeleteMany(db, keys)
			return err
		}},
		{"ClearExpired", func(db *gorm.DB, i int) error {
			if err := cache.Cached(db, fmt.Sprint("k", i)).Set(i, cache.At(time.Now().Add(-time.Hour))); err != nil {
				return err
			}
			_, err := cache.ClearExpired(db)
			return err
		}},
	}
	for _, plugin := range []bool{false, true} {
		for _, op := range ops {
			name := op.name
			if plugin {
				name += "+otelgorm"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "cache.db")
				db, err := gorm.Open(sqlite.Open(cachetest.SQLiteDSN(path)), cachetest.Config())
				require.NoError(t, err)
				sqlDB, err := db.DB()
				require.NoError(t, err)
				defer sqlDB.Close()
				require.NoError(t, cache.AutoMigrate(db))
				if plugin {
					require.NoError(t, db.Use(otelgorm.NewPlugin(otelgorm.WithoutMetrics())))
				}
				for i := range calls {
					require.NoError(t, op.do(db, i), "call %d", i)
				}
				fi, err := os.Stat(path + "-wal")
				require.NoError(t, err)
				require.Less(t, fi.Size(), int64(walBound), "-wal file after %d calls of %s", calls, op.name)
			})
		}
	}
}
