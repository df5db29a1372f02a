package cache_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// busyWrites are the write operations, each on its own keys.
var busyWrites = map[string]func(db *gorm.DB) error{
	"Set": func(db *gorm.DB) error { return cache.Cached(db, "set").Set(2) },
	"Add": func(db *gorm.DB) error { _, err := cache.Cached(db, "add").Add(2); return err },
	"Increment": func(db *gorm.DB) error {
		_, err := cache.Cached(db, "n").Increment(1)
		return err
	},
	"Touch":  func(db *gorm.DB) error { _, err := cache.Cached(db, "k").Touch(cache.In(time.Hour)); return err },
	"Delete": func(db *gorm.DB) error { _, err := cache.Cached(db, "del").Delete(); return err },
	"GetOrSet": func(db *gorm.DB) error {
		_, err := cache.GetOrSet(db, "gos", func() (int, error) { return 2, nil })
		return err
	},
	"SetMany": func(db *gorm.DB) error { return cache.SetMany(db, map[string]any{"m1": 2, "m2": 2}) },
	// More than one chunk: a transaction of its own, tried again whole.
	"SetManyTx": func(db *gorm.DB) error {
		m := map[string]any{}
		for i := range 600 {
			m[fmt.Sprint("tx", i)] = i
		}
		return cache.SetMany(db, m)
	},
	"ClearExpired": func(db *gorm.DB) error { _, err := cache.ClearExpired(db); return err },
}

// lockedSQLite opens a migrated SQLite file whose DSN has the given busy
// timeout (ms), with a key "k" holding 1, "del" holding 1 and one expired
// entry, and a second connection that takes the write lock
// (_txlock=immediate) and returns a function that releases it.
func lockedSQLite(t *testing.T, busyMS int) (*gorm.DB, func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cache.db")
	dsn := "file:" + path + "?" + strings.Replace(cachetest.SQLiteParams,
		"_busy_timeout=10000", fmt.Sprintf("_busy_timeout=%d", busyMS), 1)
	db, err := gorm.Open(sqlite.Open(dsn), cachetest.Config())
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	require.NoError(t, cache.AutoMigrate(db))
	require.NoError(t, cache.Cached(db, "k").Set(1))
	require.NoError(t, cache.Cached(db, "del").Set(1))
	require.NoError(t, cache.Cached(db, "old").Set(1, cache.At(time.Now().Add(-time.Hour))))
	holder := cachetest.Reopen(t, cachetest.Backend{Name: "sqlite", DSN: dsn})
	tx := holder.Begin()
	require.NoError(t, tx.Error)
	var once sync.Once
	release := func() { once.Do(func() { require.NoError(t, tx.Rollback().Error) }) }
	t.Cleanup(release)
	return db, release
}

// TestErrBusy holds SQLite's write lock in one connection for longer than
// the package's 10 s wait while every write operation runs in another: each
// fails with ErrBusy wrapping the driver's "database is locked", and
// changes nothing. When the call's context ends during the wait, the error
// is the context's, not ErrBusy.
func TestErrBusy(t *testing.T) {
	t.Parallel()
	db, release := lockedSQLite(t, 50)
	var wg sync.WaitGroup
	errs := sync.Map{}
	for name, write := range busyWrites {
		wg.Go(func() { errs.Store(name, write(db)) })
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	ctxErr := cache.Cached(db.WithContext(ctx), "k").Set(3)
	wg.Wait()
	for name := range busyWrites {
		v, _ := errs.Load(name)
		err, _ := v.(error)
		require.ErrorIs(t, err, cache.ErrBusy, name)
		require.ErrorContains(t, err, "database is locked", name)
		require.NotErrorIs(t, err, context.DeadlineExceeded, name)
	}
	require.ErrorIs(t, ctxErr, context.DeadlineExceeded)
	require.NotErrorIs(t, ctxErr, cache.ErrBusy)

	release()
	n, ok, err := cache.Get[int](db, "k")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, n)
	for _, k := range []string{"set", "add", "n", "gos", "m1", "tx0"} {
		ok, err = cache.Cached(db, k).Exists()
		require.NoError(t, err)
		require.False(t, ok, k)
	}
	require.EqualValues(t, 3, countRows(t, db)) // k, del, old and nothing else
}

// TestBusyWait runs every write operation on a SQLite DSN with a 5 ms busy
// timeout while another connection holds the write lock for 300 ms: the
// package waits for the lock itself, so each succeeds. A call whose context
// ends during that wait returns at once with the context's error.
func TestBusyWait(t *testing.T) {
	t.Parallel()
	db, release := lockedSQLite(t, 5)
	go func() {
		time.Sleep(300 * time.Millisecond)
		release()
	}()
	var wg sync.WaitGroup
	errs := sync.Map{}
	for name, write := range busyWrites {
		wg.Go(func() { errs.Store(name, write(db)) })
	}
	wg.Wait()
	for name := range busyWrites {
		v, _ := errs.Load(name)
		err, _ := v.(error)
		require.NoError(t, err, name)
	}
	n, ok, err := cache.Get[int](db, "n")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, n)

	db2, _ := lockedSQLite(t, 5)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err = cache.Cached(db2.WithContext(ctx), "n").Increment(1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(began), 5*time.Second, "the wait ends with the context, not after the package's 10 s")
}
