package cache_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// each runs fn on every backend, each with a fresh migrated database.
func each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.DB) })
	}
}

// row reads the raw row under key, expired or not.
func row(t *testing.T, db *gorm.DB, key string) cache.CachedItem {
	t.Helper()
	var it cache.CachedItem
	require.NoError(t, db.Where(`"key" = ?`, key).Take(&it).Error)
	return it
}

func countRows(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Model(&cache.CachedItem{}).Count(&n).Error)
	return n
}

// sameTime compares database times at PostgreSQL's microsecond precision.
func sameTime(t *testing.T, want, got time.Time) {
	t.Helper()
	require.WithinDuration(t, want, got, time.Microsecond)
}
