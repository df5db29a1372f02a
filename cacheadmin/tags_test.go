package cacheadmin

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

func TestTagsAndPrefixes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		require.NoError(t, cache.Cached(cache.WithTags(b.DB, "product:7", "a&b"), "p:1").Set(1))
		require.NoError(t, cache.Cached(cache.WithTags(b.DB, "product:7"), "p:2").Set(2))
		require.NoError(t, cache.Cached(b.DB, "q:1").Set(3))
		h := Handler(b.DB, Options{Authorize: AllowAll})

		// The entry's tags link to the list filtered by each.
		_, body := get(t, h, "/entry?key=p:1")
		require.Contains(t, body, `<a class="tag" href="./?tag=a%26b">a&amp;b</a>`)
		require.Contains(t, body, `<a class="tag" href="./?tag=product%3A7">product:7</a>`)
		res, body := get(t, h, "/?tag=product:7")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.ElementsMatch(t, []string{"p:1", "p:2"}, listedKeys(body))
		require.Contains(t, body, "Tagged “product:7”")
		_, body = get(t, h, "/?tag=none")
		require.Empty(t, listedKeys(body))

		// Invalidate tag: a confirmation with the count, then a POST.
		res, body = get(t, h, "/invalidate-tag?tag=product:7")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, "This deletes 2 entries, live or expired, tagged “product:7”")
		res, _ = post(t, h, "/invalidate-tag", url.Values{"tag": {"product:7"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.Equal(t, "invalidate-tag?tag=product%3A7", res.Header.Get("Location"))
		require.EqualValues(t, 3, count(t, b.DB), "not deleted without confirm=yes")
		res, _ = post(t, h, "/invalidate-tag", url.Values{"tag": {"product:7"}, "confirm": {"yes"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.EqualValues(t, 1, count(t, b.DB))

		// Delete keys with prefix.
		_, body = get(t, h, "/delete-prefix?prefix=q:")
		require.Contains(t, body, "This deletes 1 entry, live or expired, whose key starts with “q:”")
		res, _ = post(t, h, "/delete-prefix", url.Values{"prefix": {"q:"}, "confirm": {"yes"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.EqualValues(t, 0, count(t, b.DB))
		res, _ = get(t, h, "/delete-prefix?prefix=%ff")
		require.Equal(t, http.StatusBadRequest, res.StatusCode)

		// Read-only: no forms, and the routes refuse.
		ro := Handler(b.DB, Options{Authorize: AllowAll, ReadOnly: true})
		_, body = get(t, ro, "/")
		require.NotContains(t, body, "Invalidate tag")
		require.NotContains(t, body, "Delete keys with prefix")
		for _, target := range []string{"/invalidate-tag?tag=x", "/delete-prefix?prefix=x"} {
			res, _ := get(t, ro, target)
			require.Equal(t, http.StatusForbidden, res.StatusCode, target)
		}
		for _, target := range []string{"/invalidate-tag", "/delete-prefix"} {
			res, _ := post(t, ro, target, url.Values{"tag": {"x"}, "prefix": {"x"}, "confirm": {"yes"}})
			require.Equal(t, http.StatusForbidden, res.StatusCode, target)
		}
	})
}

func count(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	st, err := cache.Stats(db)
	require.NoError(t, err)
	return st.Total
}
