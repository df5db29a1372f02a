package cache_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// TestLoggedRows: GORM's logger sees every statement of the direct path
// with the rows GORM itself would report: -1 for a query, the affected
// rows for a write.
func TestLoggedRows(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			log := &sqlLog{Interface: logger.Discard}
			db := b.DB.Session(&gorm.Session{Logger: log})
			require.NoError(t, cache.Cached(db, "a").Set(1))
			_, _, err := cache.Get[int](db, "a")
			require.NoError(t, err)
			// On MySQL a statement made for its number of keys, which
			// has no ready-made logger function.
			_, err = cache.GetMany[int](db, []string{"a", "b"})
			require.NoError(t, err)
			for range 2 {
				_, err = cache.Cached(db, "a").Delete()
				require.NoError(t, err)
			}
			require.Equal(t, []int64{-1, -1}, log.matching("SELECT"), "Get, GetMany")
			require.Equal(t, []int64{1, 0}, log.matching("DELETE"), "the two Deletes")
		})
	}
}
