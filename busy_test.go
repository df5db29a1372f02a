package cache_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// TestErrBusy holds SQLite's write lock in one connection while another,
// with a 50 ms busy timeout, writes: every write operation fails with
// ErrBusy wrapping the driver's "database is locked", and changes nothing.
// When the call's context ends during the wait, the error is the context's,
// not ErrBusy (mattn/go-sqlite3 does not cut a busy wait short: the call
// returns when the busy timeout is over).
func TestErrBusy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cache.db")
	dsn := "file:" + path + "?" + strings.Replace(cachetest.SQLiteParams, "_busy_timeout=10000", "_busy_timeout=50", 1)
	db, err := gorm.Open(sqlite.Open(dsn), cachetest.Config())
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	defer sqlDB.Close()
	require.NoError(t, cache.AutoMigrate(db))
	require.NoError(t, cache.Cached(db, "k").Set(1))

	holder := cachetest.Reopen(t, cachetest.Backend{Name: "sqlite", DSN: dsn})
	tx := holder.Begin() // _txlock=immediate: holds the write lock until Rollback
	require.NoError(t, tx.Error)
	defer tx.Rollback()

	writes := map[string]func(db *gorm.DB) error{
		"Set": func(db *gorm.DB) error { return cache.Cached(db, "k").Set(2) },
		"Add": func(db *gorm.DB) error { _, err := cache.Cached(db, "new").Add(2); return err },
		"Increment": func(db *gorm.DB) error {
			_, err := cache.Cached(db, "k").Increment(1)
			return err
		},
		"Touch":  func(db *gorm.DB) error { _, err := cache.Cached(db, "k").Touch(cache.In(time.Hour)); return err },
		"Delete": func(db *gorm.DB) error { _, err := cache.Cached(db, "k").Delete(); return err },
		"GetOrSet": func(db *gorm.DB) error {
			_, err := cache.GetOrSet(db, "new", func() (int, error) { return 2, nil })
			return err
		},
		"SetMany": func(db *gorm.DB) error { return cache.SetMany(db, map[string]any{"k": 2, "new": 2}) },
		"Clear":   func(db *gorm.DB) error { _, err := cache.Clear(db); return err },
	}
	for name, write := range writes {
		err := write(db)
		require.ErrorIs(t, err, cache.ErrBusy, name)
		require.ErrorContains(t, err, "database is locked", name)
		require.NotErrorIs(t, err, context.DeadlineExceeded, name)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	long := db.Session(&gorm.Session{}).Exec("PRAGMA busy_timeout = 300")
	require.NoError(t, long.Error)
	// One connection in the pool, so the PRAGMA holds for the next call.
	sqlDB.SetMaxOpenConns(1)
	err = cache.Cached(db.WithContext(ctx), "k").Set(3)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, cache.ErrBusy)

	require.NoError(t, tx.Rollback().Error)
	n, ok, err := cache.Get[int](db, "k")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, n)
	ok, err = cache.Cached(db, "new").Exists()
	require.NoError(t, err)
	require.False(t, ok)
}
