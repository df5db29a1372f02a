package fiberstorage_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/limiter"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/integrations/fiberstorage"
	"github.com/gormcache/cache/internal/cachetest"
)

func each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.DB) })
	}
}

// app allows 2 requests a minute per key; the key is the request URI.
func app(s fiber.Storage) *fiber.App {
	a := fiber.New()
	a.Use(limiter.New(limiter.Config{
		Max:          2,
		Expiration:   time.Minute,
		Storage:      s,
		KeyGenerator: func(c fiber.Ctx) string { return c.OriginalURL() },
	}))
	a.Get("/*", func(c fiber.Ctx) error { return c.SendString("ok") })
	return a
}

func status(t *testing.T, a *fiber.App, uri string) int {
	t.Helper()
	res, err := a.Test(httptest.NewRequest(http.MethodGet, uri, nil))
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	return res.StatusCode
}

func TestLimiter(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		long := "/search?q=" + strings.Repeat("a", 2000)
		for _, uri := range []string{"/x", long} {
			a := app(fiberstorage.New(db))
			require.Equal(t, http.StatusOK, status(t, a, uri))
			require.Equal(t, http.StatusOK, status(t, a, uri))
			require.Equal(t, http.StatusTooManyRequests, status(t, a, uri))
			// A restart: the count is in the database.
			a = app(fiberstorage.New(db))
			require.Equal(t, http.StatusTooManyRequests, status(t, a, uri))
		}
		require.Equal(t, http.StatusOK, status(t, app(fiberstorage.New(db)), "/y"))

		var keys []string
		require.NoError(t, db.Model(&cache.CachedItem{}).Order(clause.OrderByColumn{Column: clause.Column{Name: "key"}}).Pluck("key", &keys).Error)
		require.Len(t, keys, 3)
		for _, k := range keys {
			require.True(t, strings.HasPrefix(k, "fiber:"), k)
			require.LessOrEqual(t, len(k), cache.MaxKeyLength)
		}

		require.NoError(t, fiberstorage.New(db).Reset())
		require.Equal(t, http.StatusOK, status(t, app(fiberstorage.New(db)), long))
	})
}

func TestStorage(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := fiberstorage.New(db)

		b, err := s.Get("missing")
		require.NoError(t, err)
		require.Nil(t, b, "a miss is nil, nil")
		b, err = s.GetWithContext(ctx, "")
		require.NoError(t, err)
		require.Nil(t, b)

		require.NoError(t, s.Set("forever", []byte("v"), 0))
		require.NoError(t, s.SetWithContext(ctx, "hour", []byte{0, 255}, time.Hour))
		require.NoError(t, s.Set("past", []byte("v"), -time.Second))
		require.NoError(t, s.Set("", []byte("v"), 0), "an empty key is ignored")
		require.NoError(t, s.Set("empty", nil, 0), "an empty value is ignored")

		var forever cache.CachedItem
		require.NoError(t, db.Where(clause.Eq{Column: clause.Column{Name: "key"}, Value: "fiber:forever"}).Take(&forever).Error)
		require.Nil(t, forever.ExpiresAt, "exp 0 never expires")

		b, err = s.Get("forever")
		require.NoError(t, err)
		require.Equal(t, []byte("v"), b)
		b, err = s.GetWithContext(ctx, "hour")
		require.NoError(t, err)
		require.Equal(t, []byte{0, 255}, b)
		b, err = s.Get("past")
		require.NoError(t, err)
		require.Nil(t, b)
		b, err = s.Get("empty")
		require.NoError(t, err)
		require.Nil(t, b)

		require.NoError(t, s.Delete("forever"))
		require.NoError(t, s.DeleteWithContext(ctx, "forever"), "deleting a missing key is no error")
		b, err = s.Get("forever")
		require.NoError(t, err)
		require.Nil(t, b)

		// Reset clears "fiber:" and nothing else.
		require.NoError(t, cache.Cached(db, "other").Set(1))
		require.NoError(t, cache.Cached(db, "FIBER:upper").Set(1))
		require.NoError(t, cache.Cached(db, "scs:x").Set(1))
		require.NoError(t, s.ResetWithContext(ctx))
		var keys []string
		require.NoError(t, db.Model(&cache.CachedItem{}).Order(clause.OrderByColumn{Column: clause.Column{Name: "key"}}).Pluck("key", &keys).Error)
		require.Equal(t, []string{"FIBER:upper", "other", "scs:x"}, keys)
		require.NoError(t, s.Set("a", []byte("1"), 0))
		require.NoError(t, s.Reset())
		b, err = s.Get("a")
		require.NoError(t, err)
		require.Nil(t, b)

		require.NoError(t, s.Close())
	})
}

// TestDigestKeys: keys no cache key can hold are stored under their digest,
// and a key spelling a digest is another entry.
func TestDigestKeys(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		s := fiberstorage.New(db)
		long := "/" + strings.Repeat("é", 2000)
		odd := []string{long, long + "x", "bad\xff", "nul\x00"}
		for _, k := range odd {
			require.NoError(t, s.Set(k, []byte(k), 0))
		}
		var keys []string
		require.NoError(t, db.Model(&cache.CachedItem{}).Pluck("key", &keys).Error)
		require.Len(t, keys, len(odd))
		for _, k := range keys {
			require.True(t, strings.HasPrefix(k, "fiber:#sha256:"), k)
		}
		spoof := strings.TrimPrefix(keys[0], fiberstorage.Prefix)
		b, err := s.Get(spoof)
		require.NoError(t, err)
		require.Nil(t, b)
		require.NoError(t, s.Set(spoof, []byte("spoof"), 0))
		for _, k := range odd {
			b, err := s.Get(k)
			require.NoError(t, err)
			require.Equal(t, []byte(k), b)
		}
		b, err = s.Get(spoof)
		require.NoError(t, err)
		require.Equal(t, []byte("spoof"), b)
	})
}
