package cache_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// TestInvalidateTagsAcrossChunks: InvalidateTags of more tags than one
// statement takes (500) reaches every chunk, takes exactly 500 as well, and
// is all or nothing: a refused delete in the second chunk keeps the first
// chunk's entries.
func TestInvalidateTagsAcrossChunks(t *testing.T) {
	t.Parallel()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			tags := func(n int) []string {
				out := make([]string, n)
				for i := range out {
					out[i] = fmt.Sprintf("t%03d", i)
				}
				return out
			}
			set := func(key, tag string) {
				t.Helper()
				require.NoError(t, cache.Cached(cache.WithTags(b.DB, tag), key).Set(key))
			}
			set("first", "t000")
			set("second", "t550")
			set("other", "u")

			// Tags go in byte order: t550 is in the second chunk.
			refuseKeyTrigger(t, b, "DELETE", "second")
			n, err := cache.InvalidateTags(b.DB, tags(600)...)
			require.ErrorContains(t, err, "refused by trigger")
			require.Zero(t, n)
			require.EqualValues(t, 3, countRows(t, b.DB), "the first chunk's entries are kept")

			dropRefuseTrigger(t, b)
			n, err = cache.InvalidateTags(b.DB, tags(600)...)
			require.NoError(t, err)
			require.EqualValues(t, 2, n, "both chunks")
			require.EqualValues(t, 1, countRows(t, b.DB))

			set("last", "t499")
			n, err = cache.InvalidateTags(b.DB, tags(500)...)
			require.NoError(t, err)
			require.EqualValues(t, 1, n, "exactly one chunk")
		})
	}
}
