package cache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// GetMany of any size reads without waiting for a writer: another
// connection holds SQLite's write lock (an open immediate transaction that
// wrote) and GetMany of 501 and 5,000 keys still returns within its
// deadline. On PostgreSQL the writer holds row locks on the keys read.
func TestGetManyDoesNotWaitForWriters(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			keys := make([]string, 5000)
			values := make(map[string]any, len(keys))
			for i := range keys {
				keys[i] = fmt.Sprintf("k%d", i)
				values[keys[i]] = i
			}
			require.NoError(t, cache.SetMany(b.DB, values))
			// Connect first, so that the deadline times the read alone.
			_, err := cache.GetMany[int](b.DB, keys)
			require.NoError(t, err)

			writer := cachetest.Reopen(t, b).Begin()
			require.NoError(t, writer.Error)
			t.Cleanup(func() { writer.Rollback() })
			require.NoError(t, cache.Cached(writer, "k0").Set("locked"))
			require.NoError(t, cache.Cached(writer, "k4999").Set("locked"))

			for _, n := range []int{501, 5000} {
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				got, err := cache.GetMany[int](b.DB.WithContext(ctx), keys[:n])
				cancel()
				require.NoError(t, err, "GetMany of %d keys", n)
				require.Len(t, got, n)
				require.Equal(t, 0, got["k0"], "the writer's value is not committed")
			}
		})
	}
}
