package cacheadmin

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

func TestLocksPage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		h := Handler(b.DB, Options{Authorize: AllowAll})
		res, body := get(t, h, "/locks")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, "No locks are held.")

		l := cache.NewLock(b.DB, "nightly <report>", time.Hour)
		ok, err := l.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok)
		res, body = get(t, h, "/locks")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, html.EscapeString("nightly <report>"))
		require.Contains(t, body, l.Owner())
		require.Contains(t, body, `href="unlock?name=nightly&#43;%3Creport%3E"`)

		// The release asks first, then needs confirm=yes.
		res, body = get(t, h, "/unlock?name="+url.QueryEscape("nightly <report>"))
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, `<form method="post" action="unlock">`)
		require.Contains(t, body, `<input type="hidden" name="confirm" value="yes">`)
		res, _ = post(t, h, "/unlock", url.Values{"name": {"nightly <report>"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.Equal(t, "unlock?name=nightly+%3Creport%3E", res.Header.Get("Location"))
		locks, err := cache.ListLocks(b.DB)
		require.NoError(t, err)
		require.Len(t, locks, 1, "not released without confirm=yes")

		res, _ = post(t, h, "/unlock", url.Values{"name": {"nightly <report>"}, "confirm": {"yes"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.Equal(t, "locks", res.Header.Get("Location"))
		locks, err = cache.ListLocks(b.DB)
		require.NoError(t, err)
		require.Empty(t, locks)
		ok, err = l.Extend(time.Hour)
		require.NoError(t, err)
		require.False(t, ok, "the owner lost it")

		// Read-only: listed, not released.
		require.NoError(t, l.Acquire(context.Background()))
		ro := Handler(b.DB, Options{Authorize: AllowAll, ReadOnly: true})
		_, body = get(t, ro, "/locks")
		require.Contains(t, body, l.Owner())
		require.NotContains(t, body, "unlock?name=")
		res, _ = get(t, ro, "/unlock?name=x")
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		res, _ = post(t, ro, "/unlock", url.Values{"name": {"nightly <report>"}, "confirm": {"yes"}})
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		locks, err = cache.ListLocks(b.DB)
		require.NoError(t, err)
		require.Len(t, locks, 1)
	})
}

// An expired entry that Fetch may still serve shows until when.
func TestEntryShowsStaleWindow(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		_, err := cache.Fetch(b.DB, "stale", func(context.Context) (int, error) { return 1, nil },
			cache.FetchOptions{TTL: time.Hour, Stale: 2 * time.Hour})
		require.NoError(t, err)
		h := Handler(b.DB, Options{Authorize: AllowAll})
		_, body := get(t, h, "/entry?key=stale")
		require.NotContains(t, body, "Served stale until", "a live entry")
		past := time.Now().UTC().Add(-time.Hour)
		require.NoError(t, b.DB.Model(&cache.CachedItem{}).Where(&cache.CachedItem{Key: "stale"}).Update("expires_at", past).Error)
		_, body = get(t, h, "/entry?key=stale")
		require.Contains(t, body, "Served stale until")
		require.Contains(t, body, ">expired<")
	})
}
