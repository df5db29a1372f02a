package cacheadmin

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// Options.Table shows a cache kept in a table of its own, and only it.
func TestTableOption(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		other := cachetest.OtherTable(t, b.DB, "sessions_cache")
		now := time.Now().UTC()
		later := now.Add(time.Hour)
		require.NoError(t, other.Create(&cache.CachedItem{Key: "s:1", Value: cache.JSON(`{"user":1}`), ExpiresAt: &later, CreatedAt: now, UpdatedAt: now}).Error)
		seed(t, b.DB, forever, "main:1")

		h := Handler(b.DB, Options{Authorize: AllowAll, Table: "sessions_cache"})
		_, body := get(t, h, "/")
		require.Equal(t, []string{"s:1"}, listedKeys(body))
		_, body = get(t, h, "/?status=unexpired&q=S:")
		require.Equal(t, []string{"s:1"}, listedKeys(body))
		res, body := get(t, h, "/entry?key=s%3A1")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, `<span class="badge badge-unexpired">unexpired</span>`)
		res, _ = get(t, h, "/entry?key=main%3A1")
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		_, body = get(t, Handler(b.DB, Options{Authorize: AllowAll}), "/")
		require.Equal(t, []string{"main:1"}, listedKeys(body), "the default table is cached_items")

		_, body = get(t, h, "/")
		require.Contains(t, body, `<span class="count">1</span> <span class="label">All</span>`)
		res, _ = post(t, h, "/delete", url.Values{"key": {"s:1"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		_, body = get(t, h, "/")
		require.Equal(t, []string{}, listedKeys(body))
		_, ok, err := cache.Inspect(b.DB, "main:1")
		require.NoError(t, err)
		require.True(t, ok, "cached_items untouched")
	})
}
