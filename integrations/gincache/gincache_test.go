package gincache_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ginc "github.com/chenyahui/gin-cache"
	"github.com/chenyahui/gin-cache/persist"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/integrations/gincache"
	"github.com/gormcache/cache/internal/cachetest"
)

func each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.DB) })
	}
}

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no debug route listing on stdout
	os.Exit(m.Run())
}

// engine serves /*path through gin-cache on db; calls counts the handler's
// runs.
func engine(db *gorm.DB, calls *atomic.Int64) *gin.Engine {
	r := gin.New()
	r.GET("/*path", ginc.CacheByRequestURI(gincache.New(db), time.Minute), func(c *gin.Context) {
		n := calls.Add(1)
		c.Header("X-Run", string(rune('0'+n)))
		c.String(http.StatusOK, "hello %s", c.Query("q"))
	})
	return r
}

func serve(t *testing.T, h http.Handler, uri string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, uri, nil))
	require.Equal(t, http.StatusOK, w.Code)
	return w
}

func TestCacheByRequestURI(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		long := "/search?q=" + strings.Repeat("a", 2000)
		for _, uri := range []string{"/short?q=b", long} {
			var calls atomic.Int64
			r := engine(db, &calls)
			first := serve(t, r, uri)
			second := serve(t, r, uri)
			require.Equal(t, int64(1), calls.Load(), "the second request is served from the cache")
			require.Equal(t, first.Body.String(), second.Body.String())
			require.Equal(t, "1", second.Header().Get("X-Run"))

			// A restart, or another instance: the response is in the database.
			serve(t, engine(db, &calls), uri)
			require.Equal(t, int64(1), calls.Load())
		}
		var keys []string
		require.NoError(t, db.Model(&cache.CachedItem{}).Order(clause.OrderByColumn{Column: clause.Column{Name: "key"}}).Pluck("key", &keys).Error)
		require.Len(t, keys, 2)
		require.True(t, strings.HasPrefix(keys[0], "gin:#sha256:"), keys[0])
		require.Equal(t, "gin:/short?q=b", keys[1])
	})
}

func TestStore(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		s := gincache.New(db)
		var v string
		require.ErrorIs(t, s.Get("missing", &v), persist.ErrCacheMiss)

		require.NoError(t, s.Set("k", "v", 0))
		var forever cache.CachedItem
		require.NoError(t, db.Where(clause.Eq{Column: clause.Column{Name: "key"}, Value: "gin:k"}).Take(&forever).Error)
		require.Nil(t, forever.ExpiresAt, "0 never expires")
		require.NoError(t, s.Get("k", &v))
		require.Equal(t, "v", v)

		require.NoError(t, s.Set("old", "v", -time.Second))
		require.ErrorIs(t, s.Get("old", &v), persist.ErrCacheMiss)

		require.NoError(t, s.Delete("k"))
		require.NoError(t, s.Delete("k"), "deleting a missing key is no error")
		require.ErrorIs(t, s.Get("k", &v), persist.ErrCacheMiss)

		require.Error(t, s.Set("f", func() {}, 0), "gob cannot encode a func")
		require.NoError(t, s.Set("n", 1, 0))
		require.Error(t, s.Get("n", &v), "an int is no string")
	})
}

// TestDigestKeys: keys no cache key can hold are stored under their digest,
// and a key spelling a digest is another entry.
func TestDigestKeys(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		s := gincache.New(db)
		long := "/" + strings.Repeat("x", 2000)
		odd := []string{long, long + "y", "bad\xff", "nul\x00"}
		for _, k := range odd {
			require.NoError(t, s.Set(k, k, 0))
		}
		var keys []string
		require.NoError(t, db.Model(&cache.CachedItem{}).Pluck("key", &keys).Error)
		require.Len(t, keys, len(odd))
		spoof := strings.TrimPrefix(keys[0], gincache.Prefix)
		var v string
		require.ErrorIs(t, s.Get(spoof, &v), persist.ErrCacheMiss)
		require.NoError(t, s.Set(spoof, "spoof", 0))
		for _, k := range odd {
			require.NoError(t, s.Get(k, &v))
			require.Equal(t, k, v)
		}
		require.NoError(t, s.Get(spoof, &v))
		require.Equal(t, "spoof", v)
	})
}
