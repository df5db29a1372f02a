package cache_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
)

// TestJSONNil: a nil JSON is SQL NULL, and unmarshalling into a nil *JSON
// is an error, not a panic.
func TestJSONNil(t *testing.T) {
	t.Parallel()
	v, err := cache.JSON(nil).Value()
	require.NoError(t, err)
	require.Nil(t, v)
	v, err = cache.JSON(`{"a":1}`).Value()
	require.NoError(t, err)
	require.Equal(t, `{"a":1}`, v)
	var j *cache.JSON
	require.ErrorContains(t, j.UnmarshalJSON([]byte(`1`)), "cache: UnmarshalJSON on nil *JSON")
}
