package cache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
	"github.com/gormcache/cache/internal/dialect"
)

// fill stores n entries under prefix with the given expiry.
func fill(t *testing.T, db *gorm.DB, prefix string, n int, exp ...cache.Expiration) {
	t.Helper()
	values := make(map[string]any, n)
	for i := range n {
		values[fmt.Sprintf("%s:%d", prefix, i)] = i
	}
	require.NoError(t, cache.SetMany(db, values, exp...))
}

func TestScopesAndStats(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		fill(t, db, "expired", 3, cache.In(-time.Minute))
		fill(t, db, "unexpired", 2, cache.In(time.Hour))
		fill(t, db, "forever", 4)
		count := func(scope func(*gorm.DB) *gorm.DB) int64 {
			var n int64
			require.NoError(t, db.Model(&cache.CachedItem{}).Scopes(scope).Count(&n).Error)
			return n
		}
		require.EqualValues(t, 3, count(cache.Expired))
		require.EqualValues(t, 2, count(cache.Unexpired))
		require.EqualValues(t, 4, count(cache.Forever))
		require.EqualValues(t, 6, count(cache.Live))

		st, err := cache.Stats(db)
		require.NoError(t, err)
		require.Equal(t, cache.Statistics{Total: 9, Live: 6, Expired: 3, Unexpired: 2, Forever: 4}, st)

		var items []cache.CachedItem
		require.NoError(t, db.Scopes(cache.Expired).Order(clause.OrderByColumn{Column: clause.Column{Name: "key"}}).Find(&items).Error)
		require.Len(t, items, 3)
		require.True(t, items[0].IsExpired(time.Now()))
	})
}

func TestClearExpired(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		fill(t, db, "expired", 2500, cache.In(-time.Minute)) // more than one batch
		fill(t, db, "live", 30, cache.In(time.Hour))
		fill(t, db, "forever", 20)
		n, err := cache.ClearExpired(db)
		require.NoError(t, err)
		require.EqualValues(t, 2500, n)
		st, err := cache.Stats(db)
		require.NoError(t, err)
		require.Equal(t, cache.Statistics{Total: 50, Live: 50, Unexpired: 30, Forever: 20}, st)
		n, err = cache.ClearExpired(db)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

// Entries written by one SetMany share one expiry; ClearExpired still
// deletes them a batch at a time (on MySQL the batches follow the
// expires_at index with the id breaking ties).
func TestClearExpiredSplitsOneExpiry(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		d, err := dialect.For(db.Dialector.Name())
		require.NoError(t, err)
		n := 2*d.ClearBatch + 7
		fill(t, db, "expired", n, cache.In(-time.Minute))
		fill(t, db, "live", 3, cache.In(time.Hour))
		lg := &batchLogger{Interface: logger.Discard}
		got, err := cache.ClearExpired(db.Session(&gorm.Session{Logger: lg}))
		require.NoError(t, err)
		require.EqualValues(t, n, got)
		require.EqualValues(t, 3, countRows(t, db))
		lg.mu.Lock()
		defer lg.mu.Unlock()
		require.Equal(t, int64(n), lg.rows, "the logger saw every batch")
		require.LessOrEqual(t, lg.maxRows, int64(d.ClearBatch), "a batch deleted more than %d rows", d.ClearBatch)
		require.GreaterOrEqual(t, lg.batches, 3)
	})
}

func TestClearExpiredStopsWithContext(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		fill(t, db, "expired", 10, cache.In(-time.Minute))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := cache.ClearExpired(db.WithContext(ctx))
		require.ErrorIs(t, err, context.Canceled)
		require.EqualValues(t, 10, countRows(t, db))
	})
}

func TestRunClearExpired(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		fill(t, db, "expired", 5, cache.In(-time.Minute))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- cache.RunClearExpired(ctx, db, 20*time.Millisecond) }()
		require.Eventually(t, func() bool { return countRows(t, db) == 0 }, 5*time.Second, 10*time.Millisecond,
			"first run clears at once")
		// Entries that expire later are cleared by a later tick.
		require.NoError(t, cache.Cached(db, "soon").Set(1, cache.In(30*time.Millisecond)))
		require.Eventually(t, func() bool { return countRows(t, db) == 0 }, 5*time.Second, 10*time.Millisecond)
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, "returns nil when ctx is done")
		case <-time.After(5 * time.Second):
			t.Fatal("RunClearExpired did not return after cancel")
		}
		require.Error(t, cache.RunClearExpired(context.Background(), db, 0))
	})
}

func TestAutoMigrateIdempotent(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "keep").Set("me", cache.In(time.Hour)))
		require.NoError(t, cache.AutoMigrate(db))
		require.NoError(t, cache.AutoMigrate(db))
		v, ok, err := cache.Get[string](db, "keep")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "me", v)
		m := db.Migrator()
		require.True(t, m.HasIndex(&cache.CachedItem{}, "Key"))
		require.True(t, m.HasIndex(&cache.CachedItem{}, "ExpiresAt"))
	})
}

func TestAutoMigratePostgresOptions(t *testing.T) {
	b := cachetest.Postgres(t)
	var opts string
	require.NoError(t, b.DB.Raw(`SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'cached_items'::regclass`).Scan(&opts).Error)
	require.Equal(t, "autovacuum_vacuum_scale_factor=0.1", opts)
	var typ string
	require.NoError(t, b.DB.Raw(`SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'cached_items' AND column_name = 'value'`).Scan(&typ).Error)
	require.Equal(t, "jsonb", typ)

	persistence := func() string {
		var p string
		require.NoError(t, b.DB.Raw(`SELECT relpersistence FROM pg_class WHERE oid = 'cached_items'::regclass`).Scan(&p).Error)
		return p
	}
	require.Equal(t, "p", persistence())
	require.NoError(t, cache.Cached(b.DB, "keep").Set(1))
	require.NoError(t, cache.AutoMigrate(b.DB, cache.Unlogged()))
	require.Equal(t, "u", persistence())
	require.NoError(t, cache.AutoMigrate(b.DB, cache.Unlogged()))
	require.Equal(t, "u", persistence())
	v, ok, err := cache.Get[int](b.DB, "keep")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, v)

	// Logged is the way back, and keeps the entries too.
	require.Error(t, cache.AutoMigrate(b.DB, cache.Unlogged(), cache.Logged()))
	require.Equal(t, "u", persistence(), "nothing done for conflicting options")
	require.NoError(t, cache.AutoMigrate(b.DB, cache.Logged()))
	require.Equal(t, "p", persistence())
	require.NoError(t, cache.AutoMigrate(b.DB, cache.Logged()))
	require.Equal(t, "p", persistence())
	v, ok, err = cache.Get[int](b.DB, "keep")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, v)
}

func TestAutoMigrateUnloggedIgnoredOnSQLite(t *testing.T) {
	b := cachetest.SQLite(t)
	require.NoError(t, cache.AutoMigrate(b.DB, cache.Unlogged()))
	require.NoError(t, cache.AutoMigrate(b.DB, cache.Logged()))
	require.NoError(t, cache.Cached(b.DB, "k").Set(1))
}
