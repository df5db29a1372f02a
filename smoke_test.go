package cache_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

func TestSmoke(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.DB
			require.NoError(t, cache.Cached(db, "a").Set(map[string]any{"x": 1}, cache.In(time.Minute)))
			var m map[string]int
			ok, err := cache.Cached(db, "a").Get(&m)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, 1, m["x"])
			n, err := cache.Cached(db, "c").Increment(5)
			require.NoError(t, err)
			require.EqualValues(t, 5, n)
			n, err = cache.Cached(db, "c").Increment(2)
			require.NoError(t, err)
			require.EqualValues(t, 7, n)
			require.NoError(t, cache.Cached(db, "s").Set("text"))
			_, err = cache.Cached(db, "s").Increment(2)
			require.ErrorIs(t, err, cache.ErrNotNumber)
			added, err := cache.Cached(db, "a").Add(1)
			require.NoError(t, err)
			require.False(t, added)
			require.NoError(t, cache.Cached(db, "e").Set(1, cache.In(-time.Second)))
			added, err = cache.Cached(db, "e").Add(2)
			require.NoError(t, err)
			require.True(t, added)
			got, err := cache.GetMany[any](db, []string{"a", "e", "zz"})
			require.NoError(t, err)
			require.Len(t, got, 2)
			st, err := cache.Stats(db)
			require.NoError(t, err)
			t.Logf("%+v", st)
			require.NoError(t, cache.SetMany(db, map[string]any{"m1": 1, "m2": "two"}, cache.In(time.Hour)))
			dn, err := cache.DeleteMany(db, []string{"m1", "m2", "nope"})
			require.NoError(t, err)
			require.EqualValues(t, 2, dn)
			require.NoError(t, cache.AutoMigrate(db))
		})
	}
}
