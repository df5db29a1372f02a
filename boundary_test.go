package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// TestExpiresExactlyNow pins the boundary of every live check: an entry
// whose expiry equals the current time is still live (expires_at >= now),
// and one a microsecond older is expired, for Get, Exists, GetMany, Fetch,
// Touch, Add, Increment, Stats, ClearExpired and the scopes, on every database.
// The package's clock is frozen, so it runs alone (not in parallel).
func TestExpiresExactlyNow(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	t.Cleanup(cache.SetClock(func() time.Time { return now }))
	before := now.Add(-time.Microsecond)
	each(t, func(t *testing.T, db *gorm.DB) {
		set := func(key string, at time.Time, v any) {
			t.Helper()
			require.NoError(t, cache.Cached(db, key).Set(v, cache.At(at)))
		}
		set("now", now, "n")
		set("before", before, "b")

		var s string
		ok, err := cache.Cached(db, "now").Get(&s)
		require.NoError(t, err)
		require.True(t, ok, "Get: an entry expiring exactly now is live")
		ok, err = cache.Cached(db, "before").Get(&s)
		require.NoError(t, err)
		require.False(t, ok, "Get: a microsecond ago is expired")

		ok, err = cache.Cached(db, "now").Exists()
		require.NoError(t, err)
		require.True(t, ok, "Exists")
		ok, err = cache.Cached(db, "before").Exists()
		require.NoError(t, err)
		require.False(t, ok, "Exists")

		got, err := cache.GetMany[string](db, []string{"now", "before"})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"now": "n"}, got, "GetMany")

		st, err := cache.Stats(db)
		require.NoError(t, err)
		require.Equal(t, cache.Statistics{Total: 2, Live: 1, Expired: 1, Unexpired: 1}, st, "Stats")

		for status, want := range map[cache.Status]string{
			cache.StatusLive: "now", cache.StatusUnexpired: "now", cache.StatusExpired: "before",
		} {
			p, err := cache.List(db, cache.ListOptions{Status: status})
			require.NoError(t, err)
			require.Len(t, p.Entries, 1, "List %s", status)
			require.Equal(t, want, p.Entries[0].Key, "List %s", status)
		}
		e, _, err := cache.Inspect(db, "now")
		require.NoError(t, err)
		require.Equal(t, cache.StatusUnexpired, e.Status, "Inspect")

		var n int64
		require.NoError(t, db.Model(&cache.CachedItem{}).Scopes(cache.Live).Count(&n).Error)
		require.EqualValues(t, 1, n, "Live")
		require.NoError(t, db.Model(&cache.CachedItem{}).Scopes(cache.Unexpired).Count(&n).Error)
		require.EqualValues(t, 1, n, "Unexpired")
		require.NoError(t, db.Model(&cache.CachedItem{}).Scopes(cache.Expired).Count(&n).Error)
		require.EqualValues(t, 1, n, "Expired")

		added, err := cache.Cached(db, "now").Add("other", cache.In(time.Hour))
		require.NoError(t, err)
		require.False(t, added, "Add: a live entry is in the way")
		added, err = cache.Cached(db, "before").Add("b2", cache.At(before))
		require.NoError(t, err)
		require.True(t, added, "Add: an expired entry is replaced")

		// Fetch (SQLite compares the expiry in Go, the others in SQL).
		set("fetch-now", now, "fn")
		set("fetch-before", before, "fb")
		loads := 0
		load := func(context.Context) (string, error) { loads++; return "loaded", nil }
		s, err = cache.Fetch(db, "fetch-now", load, cache.FetchOptions{TTL: time.Hour})
		require.NoError(t, err)
		require.Equal(t, "fn", s, "Fetch: an entry expiring exactly now is served")
		require.Zero(t, loads, "Fetch: no load for a live entry")
		s, err = cache.Fetch(db, "fetch-before", load, cache.FetchOptions{TTL: time.Hour})
		require.NoError(t, err)
		require.Equal(t, "loaded", s, "Fetch: a microsecond ago is expired")
		require.Equal(t, 1, loads)
		for _, k := range []string{"fetch-now", "fetch-before"} {
			_, err = cache.Cached(db, k).Delete()
			require.NoError(t, err)
		}

		set("counter", now, 41)
		v, err := cache.Cached(db, "counter").Increment(1, cache.At(now))
		require.NoError(t, err)
		require.EqualValues(t, 42, v, "Increment: the live value counts")
		set("old-counter", before, 41)
		v, err = cache.Cached(db, "old-counter").Increment(1, cache.At(now))
		require.NoError(t, err)
		require.EqualValues(t, 1, v, "Increment: an expired value starts over")

		set("touch", now, "t")
		touched, err := cache.Cached(db, "touch").Touch(cache.At(now))
		require.NoError(t, err)
		require.True(t, touched, "Touch: a live entry")
		touched, err = cache.Cached(db, "before").Touch(cache.At(now))
		require.NoError(t, err)
		require.False(t, touched, "Touch: an expired entry")

		cleared, err := cache.ClearExpired(db)
		require.NoError(t, err)
		require.EqualValues(t, 1, cleared, "ClearExpired: only the entry of a microsecond ago")
		ok, err = cache.Cached(db, "now").Exists()
		require.NoError(t, err)
		require.True(t, ok, "ClearExpired left the entry expiring now")
		require.EqualValues(t, 4, countRows(t, db))
	})
}
