package cache_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// TestReplica runs the cache on a primary and a real streaming replica
// (pg_basebackup -R) whose replay is paused, so the replica lags behind
// every write, through gorm.io/plugin/dbresolver.
func TestReplica(t *testing.T) {
	primary := cachetest.NewCluster(t)
	replica := primary.NewReplica()

	open := func(dsn string) *gorm.DB {
		db, err := gorm.Open(postgres.Open(dsn), cachetest.Config())
		require.NoError(t, err)
		sqlDB, err := db.DB()
		require.NoError(t, err)
		t.Cleanup(func() { _ = sqlDB.Close() })
		return db
	}
	src := open(primary.DSN)
	require.NoError(t, cache.AutoMigrate(src))
	rep := open(replica.DSN)
	// Wait for the table to reach the replica, then pause its replay.
	require.Eventually(t, func() bool {
		var n int64
		return rep.Raw(`SELECT count(*) FROM pg_tables WHERE tablename = 'cached_items'`).Scan(&n).Error == nil && n == 1
	}, 30*time.Second, 20*time.Millisecond, "the table never reached the replica")
	require.NoError(t, rep.Exec(`SELECT pg_wal_replay_pause()`).Error)

	db := open(primary.DSN)
	require.NoError(t, db.Use(dbresolver.Register(dbresolver.Config{
		Replicas: []gorm.Dialector{postgres.Open(replica.DSN)},
	})))

	t.Run("the replica lags", func(t *testing.T) {
		require.NoError(t, cache.Cached(db, "lag").Set(1))
		ok, err := cache.Cached(src, "lag").Exists()
		require.NoError(t, err)
		require.True(t, ok, "the write went to the source")
		ok, err = cache.Cached(db, "lag").Exists()
		require.NoError(t, err)
		require.False(t, ok, "a plain read goes to the paused replica")
	})

	t.Run("a Write clause reads the source", func(t *testing.T) {
		require.NoError(t, cache.Cached(db, "pinned").Set("v"))
		got, ok, err := cache.Get[string](db.Clauses(dbresolver.Write), "pinned")
		require.NoError(t, err)
		require.True(t, ok, "dbresolver.Write must read the source")
		require.Equal(t, "v", got)
	})

	// The replica never sees the stored value, so every call misses there;
	// the flight's check reads the source and finds it.
	t.Run("GetOrSet computes once", func(t *testing.T) {
		var calls atomic.Int32
		for range 3 {
			v, err := cache.GetOrSet(db, "once", func() (string, error) { calls.Add(1); return "computed", nil })
			require.NoError(t, err)
			require.Equal(t, "computed", v)
		}
		require.EqualValues(t, 1, calls.Load())
	})

	// Another process stores a value between the flight's check and its
	// Add: the Add loses, and the value GetOrSet returns is read from the
	// source, not missed on the replica.
	t.Run("GetOrSet reads the source after a lost Add", func(t *testing.T) {
		db := open(primary.DSN)
		require.NoError(t, db.Use(dbresolver.Register(dbresolver.Config{
			Replicas: []gorm.Dialector{postgres.Open(replica.DSN)},
		})))
		var raced atomic.Bool
		require.NoError(t, db.Callback().Raw().Before("*").Register("test:store_first", func(tx *gorm.DB) {
			if strings.HasPrefix(tx.Statement.SQL.String(), `INSERT INTO "cached_items"`) && raced.CompareAndSwap(false, true) {
				require.NoError(t, cache.Cached(src, "lost").Set("other"))
			}
		}))
		v, err := cache.GetOrSet(db, "lost", func() (string, error) { return "mine", nil })
		require.NoError(t, err)
		require.True(t, raced.Load())
		require.Equal(t, "other", v)
	})
}
