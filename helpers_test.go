package cache_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/opentelemetry-go-extra/otelgorm"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// each runs fn on every backend, each with a fresh migrated database, twice:
// once plain (statements go straight to the pool) and once with the otelgorm
// plugin registered (statements go through GORM's callbacks). On MySQL the
// second run's DSN also sets clientFoundRows=true, which changes the
// affected rows that the writes report, and interpolateParams=true, which
// sends arguments inside the statement's text, so both settings of each are
// tested.
func each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.DB) })
		t.Run(b.Name+"+otelgorm", func(t *testing.T) {
			_, err := cache.Clear(b.DB)
			require.NoError(t, err)
			require.NoError(t, b.DB.Exec(`DELETE FROM cache_locks`).Error)
			rb := b
			if rb.Name == "mysql" {
				rb.DSN = cachetest.WithOtherSettings(t, rb.DSN)
			}
			db := cachetest.Reopen(t, rb)
			require.NoError(t, db.Use(otelgorm.NewPlugin(otelgorm.WithoutMetrics())))
			fn(t, db)
		})
	}
}

// row reads the raw row under key, expired or not.
func row(t *testing.T, db *gorm.DB, key string) cache.CachedItem {
	t.Helper()
	var it cache.CachedItem
	require.NoError(t, db.Where(&cache.CachedItem{Key: key}).Take(&it).Error)
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

// sqlLog records the SQL and the affected rows of every statement GORM's
// logger is told of (also those gormcache runs without GORM's callbacks).
type sqlLog struct {
	logger.Interface
	mu   sync.Mutex
	sql  []string
	rows []int64
}

func (l *sqlLog) LogMode(logger.LogLevel) logger.Interface { return l }

func (l *sqlLog) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	s, n := fc()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sql = append(l.sql, s)
	l.rows = append(l.rows, n)
}

// matching returns the affected rows of the statements whose SQL starts
// with prefix, in order.
func (l *sqlLog) matching(prefix string) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var rows []int64
	for i, s := range l.sql {
		if strings.HasPrefix(s, prefix) {
			rows = append(rows, l.rows[i])
		}
	}
	return rows
}
