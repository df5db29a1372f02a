package cache_test

import (
	"encoding/json"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// TestBadInputSizes stores values of 0 bytes, 5 MiB and 64 MiB. An empty
// json.RawMessage is ErrInvalidValue; empty strings, slices and a nil
// RawMessage (JSON null) round-trip; 5 MiB round-trips exactly; 64 MiB
// round-trips or fails with a wrapped error, and a Set plus a Get of it
// allocate less than 12 times its size. The 64 MiB case is skipped under
// -race, where it takes half a minute.
func TestBadInputSizes(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name+"/small", func(t *testing.T) {
			db := b.DB
			err := cache.Cached(db, "empty-raw").Set(json.RawMessage{})
			require.ErrorIs(t, err, cache.ErrInvalidValue)
			ok, err := cache.Cached(db, "empty-raw").Exists()
			require.NoError(t, err)
			require.False(t, ok)

			require.NoError(t, cache.Cached(db, "nil-raw").Set(json.RawMessage(nil)))
			v, err := cache.Cached(db, "nil-raw").Value()
			require.NoError(t, err)
			require.Nil(t, v)
			ok, err = cache.Cached(db, "nil-raw").Exists()
			require.NoError(t, err)
			require.True(t, ok, "a stored null is a hit")

			require.NoError(t, cache.Cached(db, "empty-string").Set(""))
			s, ok, err := cache.Get[string](db, "empty-string")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "", s)
			require.NoError(t, cache.Cached(db, "empty-bytes").Set([]byte{}))
			bs, ok, err := cache.Get[[]byte](db, "empty-bytes")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, []byte{}, bs)

			// 5 MiB of mixed text, with characters that need escaping.
			five := strings.Repeat("gormcache ключ 🔑 \"<&>\"\n", 5<<20/32)
			require.NoError(t, cache.Cached(db, "five").Set(five))
			got, ok, err := cache.Get[string](db, "five")
			require.NoError(t, err)
			require.True(t, ok)
			require.True(t, got == five, "5 MiB value changed")
			got = ""
		})
		t.Run(b.Name+"/64MiB", func(t *testing.T) {
			if raceEnabled {
				t.Skip("64 MiB takes half a minute under -race: go test -run 'TestBadInputSizes/.*/64MiB' .")
			}
			db := b.DB
			const size = 64 << 20
			big := strings.Repeat("a", size)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			begin := time.Now()
			err := cache.Cached(db, "big").Set(big)
			if err != nil {
				require.True(t, strings.HasPrefix(err.Error(), `cache: set "big": `), err.Error())
				t.Logf("64 MiB refused: %v", err)
			} else {
				got, ok, err := cache.Get[string](db, "big")
				require.NoError(t, err)
				require.True(t, ok)
				require.True(t, got == big, "64 MiB value changed")
			}
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("64 MiB Set+Get took %v and allocated %d MiB", time.Since(begin).Round(time.Millisecond), alloc>>20)
			bound := uint64(12 * size)
			if b.Name == "pgbouncer" {
				// The simple protocol sends the value quoted inside the
				// statement's text: pgx builds that text, two copies more.
				bound = 16 * size
			}
			require.Less(t, alloc, bound, "memory is not bounded")
			_, err = cache.Cached(db, "big").Delete()
			require.NoError(t, err)
		})
	}
}

// TestBadInputExpirations stores expiries at the edges of the supported
// range, years 1 and 9999, in UTC and other zones: in range they are stored
// exactly (to the microsecond PostgreSQL keeps) and read as expired or live
// accordingly; out of range, or NaN or infinite seconds, every function
// that takes an expiration fails with ErrInvalidExpiration and writes
// nothing.
func TestBadInputExpirations(t *testing.T) {
	east := time.FixedZone("east", 14*3600)
	west := time.FixedZone("west", -12*3600)
	valid := []struct {
		name string
		at   time.Time
		live bool
	}{
		{"year 1", time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), false}, // 00:00:00 is the zero time
		{"year 1 east", time.Date(1, 1, 1, 23, 0, 0, 0, east), false},
		{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), true},
		{"year 9999 west", time.Date(9999, 12, 31, 11, 0, 0, 0, west), true},
		{"past", time.Now().Add(-time.Millisecond).Truncate(time.Microsecond), false},
		{"future", time.Now().Add(time.Hour).Truncate(time.Microsecond), true},
	}
	invalid := map[string]cache.Expiration{
		"year 0":             cache.At(time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC)),
		"year 1 in the west": cache.At(time.Date(1, 1, 1, 0, 0, 0, 0, east)),
		"year 10000":         cache.At(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)),
		"9999 in the west":   cache.At(time.Date(9999, 12, 31, 23, 0, 0, 0, west)),
		"zero time":          cache.At(time.Time{}),
		"zero Expiration":    {},
		"seconds 1e300":      cache.Seconds(1e300),
		"seconds -1e300":     cache.Seconds(-1e300),
		"seconds NaN":        cache.Seconds(math.NaN()),
		"seconds +Inf":       cache.Seconds(math.Inf(1)),
		"seconds -Inf":       cache.Seconds(math.Inf(-1)),
	}
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.DB
			for _, c := range valid {
				key := "exp:" + c.name
				require.NoError(t, cache.Cached(db, key).Set(1, cache.At(c.at)), c.name)
				var item cache.CachedItem
				require.NoError(t, db.Where(&cache.CachedItem{Key: key}).Take(&item).Error)
				require.NotNil(t, item.ExpiresAt)
				require.True(t, c.at.Truncate(time.Microsecond).Equal(*item.ExpiresAt),
					"%s: stored %v, want %v", c.name, item.ExpiresAt.UTC(), c.at.UTC())
				ok, err := cache.Cached(db, key).Exists()
				require.NoError(t, err)
				require.Equal(t, c.live, ok, c.name)
			}
			for _, d := range []time.Duration{math.MaxInt64, math.MinInt64} {
				require.NoError(t, cache.Cached(db, "exp:duration").Set(1, cache.In(d)))
				ok, err := cache.Cached(db, "exp:duration").Exists()
				require.NoError(t, err)
				require.Equal(t, d > 0, ok)
			}
			// Beyond what a time.Duration holds (292 years) but within year
			// 9999: 1e11 seconds is about 3169 years.
			require.NoError(t, cache.Cached(db, "exp:seconds").Set(1, cache.Seconds(1e11)))
			var item cache.CachedItem
			require.NoError(t, db.Where(&cache.CachedItem{Key: "exp:seconds"}).Take(&item).Error)
			wantYear := time.Now().Year() + 3168
			require.InDelta(t, wantYear, item.ExpiresAt.Year(), 1)
			require.NoError(t, cache.Cached(db, "exp:seconds-past").Set(1, cache.Seconds(-1e10)))
			item = cache.CachedItem{}
			require.NoError(t, db.Where(&cache.CachedItem{Key: "exp:seconds-past"}).Take(&item).Error)
			require.InDelta(t, time.Now().Year()-317, item.ExpiresAt.Year(), 1)
			require.NoError(t, cache.Cached(db, "exp:touch").Set("x"))

			st, err := cache.Stats(db)
			require.NoError(t, err)
			for name, exp := range invalid {
				e := cache.Cached(db, "exp:new")
				require.ErrorIs(t, e.Set(1, exp), cache.ErrInvalidExpiration, name)
				_, err := e.Add(1, exp)
				require.ErrorIs(t, err, cache.ErrInvalidExpiration, name)
				_, err = e.Increment(1, exp)
				require.ErrorIs(t, err, cache.ErrInvalidExpiration, name)
				_, err = e.Decrement(1, exp)
				require.ErrorIs(t, err, cache.ErrInvalidExpiration, name)
				_, err = cache.Cached(db, "exp:touch").Touch(exp)
				require.ErrorIs(t, err, cache.ErrInvalidExpiration, name)
				require.ErrorIs(t, cache.SetMany(db, map[string]any{"exp:new": 1}, exp), cache.ErrInvalidExpiration, name)
				_, err = cache.GetOrSet(db, "exp:new", func() (int, error) { return 1, nil }, exp)
				require.ErrorIs(t, err, cache.ErrInvalidExpiration, name)
			}
			require.ErrorIs(t, cache.Cached(db, "exp:new").Set(1, cache.In(time.Hour), cache.In(time.Hour)),
				cache.ErrInvalidExpiration, "two expirations")
			after, err := cache.Stats(db)
			require.NoError(t, err)
			require.Equal(t, st, after, "a refused expiration wrote something")
			item = cache.CachedItem{}
			require.NoError(t, db.Where(&cache.CachedItem{Key: "exp:touch"}).Take(&item).Error)
			require.Nil(t, item.ExpiresAt, "a refused Touch changed the expiry")

			n, err := cache.ClearExpired(db)
			require.NoError(t, err)
			require.EqualValues(t, 5, n) // year 1 (twice), past, MinInt64, -1e10 seconds
		})
	}
}
