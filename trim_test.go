package cache_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// written sets the entries' UpdatedAt, as if last written at t.
func written(t *testing.T, db *gorm.DB, at time.Time, keys ...string) {
	t.Helper()
	require.NoError(t, db.Model(&cache.CachedItem{}).Where(map[string]any{"key": keys}).
		UpdateColumn("updated_at", at.UTC()).Error)
}

func keysLeft(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var keys []string
	require.NoError(t, db.Model(&cache.CachedItem{}).Pluck("key", &keys).Error)
	sort.Strings(keys)
	return keys
}

func TestTrim(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		base := time.Now().Add(-time.Hour)
		for i := range 10 {
			k := fmt.Sprint("k", i)
			require.NoError(t, cache.Cached(db, k).Set(i))
			written(t, db, base.Add(time.Duration(i)*time.Minute), k)
		}
		// Equal times: the lower id goes first.
		written(t, db, base.Add(5*time.Minute), "k5", "k6")
		require.NoError(t, cache.Cached(db, "exp").Set(1, cache.In(-time.Second)))

		// No limits: only expired entries.
		n, err := cache.Trim(db, cache.Limits{})
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		require.Len(t, keysLeft(t, db), 10)

		// Reads write nothing, so they do not keep an entry.
		for range 3 {
			_, err := cache.Cached(db, "k0").Exists()
			require.NoError(t, err)
		}
		n, err = cache.Trim(db, cache.Limits{MaxEntries: 8})
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
		require.Equal(t, []string{"k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"}, keysLeft(t, db))
		n, err = cache.Trim(db, cache.Limits{MaxEntries: 4})
		require.NoError(t, err)
		require.Equal(t, int64(4), n)
		require.Equal(t, []string{"k6", "k7", "k8", "k9"}, keysLeft(t, db), "k5 and k6 tie; k5 has the lower id")
		n, err = cache.Trim(db, cache.Limits{MaxEntries: 4})
		require.NoError(t, err)
		require.Zero(t, n)

		// MaxAge by last write: a rewrite keeps an entry.
		require.NoError(t, cache.Cached(db, "k7").Set("again"))
		n, err = cache.Trim(db, cache.Limits{MaxAge: time.Minute})
		require.NoError(t, err)
		require.Equal(t, int64(3), n)
		require.Equal(t, []string{"k7"}, keysLeft(t, db))

		_, err = cache.Trim(db, cache.Limits{MaxEntries: -1})
		require.Error(t, err)
	})
}

func TestTrimMaxBytes(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		base := time.Now().Add(-time.Hour)
		// Each entry: a 2-byte key and a 10-byte JSON string ("12345678").
		// On PostgreSQL jsonb stores a short string in more bytes.
		for i := range 9 {
			k := fmt.Sprint("k", i)
			require.NoError(t, cache.Cached(db, k).Set("12345678"))
			written(t, db, base.Add(time.Duration(i)*time.Minute), k)
		}
		var per int64
		if db.Dialector.Name() == "postgres" {
			require.NoError(t, db.Raw(`SELECT octet_length("key") + pg_column_size("value") FROM cached_items LIMIT 1`).Scan(&per).Error)
		} else {
			per = 12
		}
		n, err := cache.Trim(db, cache.Limits{MaxBytes: 3*per + per/2})
		require.NoError(t, err)
		require.Equal(t, int64(6), n)
		require.Equal(t, []string{"k6", "k7", "k8"}, keysLeft(t, db))
		// Both limits must hold.
		n, err = cache.Trim(db, cache.Limits{MaxBytes: 100 * per, MaxEntries: 1})
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
		require.Equal(t, []string{"k8"}, keysLeft(t, db))
	})
}

func TestTrimBatchesAndTags(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		// More entries than a batch on SQLite (1000): the walk by id crosses
		// batches.
		values := make(map[string]any, 2500)
		for i := range 2500 {
			values[fmt.Sprintf("k%04d", i)] = i
		}
		require.NoError(t, cache.SetMany(cache.WithTags(db, "all"), values))
		old := time.Now().Add(-time.Hour)
		var keys []string
		for i := 0; i < 2500; i += 2 {
			keys = append(keys, fmt.Sprintf("k%04d", i))
		}
		written(t, db, old, keys...)
		n, err := cache.Trim(db, cache.Limits{MaxAge: time.Minute})
		require.NoError(t, err)
		require.Equal(t, int64(1250), n)
		require.Equal(t, int64(1250), countRows(t, db))
		// The side rows of the deleted entries are gone too.
		require.Equal(t, int64(1250), sideRows(t, db))
		// Entries rewritten without tags lose their side rows to Trim.
		require.NoError(t, cache.Cached(db, "k0001").Set(1))
		_, err = cache.Trim(db, cache.Limits{})
		require.NoError(t, err)
		require.Equal(t, int64(1249), sideRows(t, db))
		n, err = cache.Trim(db, cache.Limits{MaxEntries: 1000})
		require.NoError(t, err)
		require.Equal(t, int64(250), n)
		n, err = cache.InvalidateTags(db, "all")
		require.NoError(t, err)
		require.Equal(t, int64(999), n, "k0001 is untagged")
	})
}

// TestTrimConcurrentWriters: entries written while Trim runs are newer than
// its cutoff and stay; Trim and the writers all succeed.
func TestTrimConcurrentWriters(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		values := make(map[string]any, 3000)
		for i := range 3000 {
			values[fmt.Sprint("old", i)] = i
		}
		require.NoError(t, cache.SetMany(db, values))
		var oldKeys []string
		for k := range values {
			oldKeys = append(oldKeys, k)
		}
		written(t, db, time.Now().Add(-time.Hour), oldKeys...)
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if err := cache.Cached(cache.WithTags(db, "new"), fmt.Sprint("new", i)).Set(i); err != nil {
					errs <- err
					return
				}
			}
		}()
		// The 200 new entries are the newest, within the limit, whether
		// written before Trim found its cutoff or after.
		n, err := cache.Trim(db, cache.Limits{MaxEntries: 1000})
		require.NoError(t, err)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.GreaterOrEqual(t, n, int64(2000))
		for i := range 200 {
			require.True(t, exists(t, db, fmt.Sprint("new", i)), i)
		}
	})
}

func TestRunTrim(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		require.Error(t, cache.RunTrim(context.Background(), db, 0, cache.Limits{}))
		require.Error(t, cache.RunTrim(context.Background(), db, time.Second, cache.Limits{MaxAge: -1}))
		for i := range 5 {
			require.NoError(t, cache.Cached(db, fmt.Sprint("k", i)).Set(i))
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		// Runs are 300 ms apart and take a few ms: the cancel below, right
		// after a run was seen, lands between runs. (A query cancelled
		// midway makes pgx send a cancel request on a connection of its
		// own, which PgBouncer may still be serving when the test's
		// database goes.)
		go func() { done <- cache.RunTrim(ctx, db, 300*time.Millisecond, cache.Limits{MaxEntries: 2}) }()
		require.Eventually(t, func() bool { return countRows(t, db) == 2 }, 10*time.Second, 5*time.Millisecond)
		for i := range 3 { // a later run trims again
			require.NoError(t, cache.Cached(db, fmt.Sprint("more", i)).Set(i))
		}
		require.Eventually(t, func() bool { return countRows(t, db) == 2 }, 10*time.Second, 5*time.Millisecond)
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("RunTrim did not stop")
		}
	})
}

// TestTrimRunsWhatLimitsAsk: Trim reads the size cutoff only for
// MaxEntries or MaxBytes, and walks the table only for those or MaxAge:
// with no limits it runs ClearExpired and the side-table sweep alone.
func TestTrimRunsWhatLimitsAsk(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := open(t, b, &gorm.Config{})
			require.NoError(t, cache.Cached(db, "k").Set(1))
			var cutoffs, walks atomic.Int64
			count := func(tx *gorm.DB) {
				sql := tx.Statement.SQL.String()
				switch {
				case strings.Contains(sql, "updated_at") && strings.HasPrefix(sql, "SELECT"):
					cutoffs.Add(1)
				case strings.Contains(sql, "updated_at") && strings.HasPrefix(sql, "DELETE"):
					walks.Add(1)
				}
			}
			require.NoError(t, db.Callback().Query().Before("gorm:query").Register("test:count", count))
			require.NoError(t, db.Callback().Raw().Before("gorm:raw").Register("test:count", count))
			for _, c := range []struct {
				limits          cache.Limits
				cutoffs, walked bool
			}{
				{cache.Limits{}, false, false},
				{cache.Limits{MaxAge: time.Hour}, false, true},
				{cache.Limits{MaxEntries: 1}, true, false}, // one entry: nothing beyond
				{cache.Limits{MaxBytes: 1 << 20}, true, false},
			} {
				cutoffs.Store(0)
				walks.Store(0)
				_, err := cache.Trim(db, c.limits)
				require.NoError(t, err)
				require.Equal(t, c.cutoffs, cutoffs.Load() > 0, "%+v: cutoff read", c.limits)
				require.Equal(t, c.walked, walks.Load() > 0, "%+v: table walked", c.limits)
			}
		})
	}
}
