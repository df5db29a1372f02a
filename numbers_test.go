package cache_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/opentelemetry-go-extra/otelgorm"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// numberForms pairs numbers as written with the text PostgreSQL's jsonb
// gives them back as (no exponent, no negative zero, the scale kept).
var numberForms = [][2]string{
	{"1e3", "1000"},
	{"1E2", "100"},
	{"1.5e1", "15"},
	{"1.50e1", "15.0"},
	{"1e+21", "1000000000000000000000"},
	{"-1.5E+2", "-150"},
	{"1e-3", "0.001"},
	{"12.5e-1", "1.25"},
	{"123456789e-12", "0.000123456789"},
	{"0e-2", "0.00"},
	{"0e5", "0"},
	{"-0", "0"},
	{"-0.0", "0.0"},
	{"-0e5", "0"},
	{"-0.5", "-0.5"},
	{"0.5e1", "5"},
	{"10", "10"},
	{"1.0", "1.0"},
	{"0.05e1", "0.5"},
	{"[-0]", "[0]"},
}

// Both databases store a number as PostgreSQL's jsonb prints it, so a
// value reads back the same everywhere.
func TestNumbersStoredAsPostgreSQLPrintsThem(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		for _, c := range numberForms {
			if db.Dialector.Name() == "postgres" {
				var pg string
				require.NoError(t, db.Raw("SELECT CAST(CAST(? AS jsonb) AS text)", c[0]).Scan(&pg).Error)
				require.Equal(t, c[1], pg, "PostgreSQL's own form of %s", c[0])
			}
			require.NoError(t, cache.Cached(db, "n").Set(json.RawMessage(c[0])))
			var got json.RawMessage
			ok, err := cache.Cached(db, "n").Get(&got)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, c[1], string(got), c[0])
		}
		// Inside arrays and objects, and never inside strings.
		in := `{"a":[1e2,-0,"1e2 -0"],"b":2E-1}`
		require.NoError(t, cache.Cached(db, "n").Set(json.RawMessage(in)))
		var got any
		_, err := cache.Cached(db, "n").Get(&got)
		require.NoError(t, err)
		require.Equal(t, map[string]any{"a": []any{100.0, 0.0, "1e2 -0"}, "b": 0.2}, got)
		v, err := cache.Cached(db, "n").Value()
		require.NoError(t, err)
		require.Equal(t, got, v)

		// Numbers after strings that end in an escaped backslash, are
		// empty or hold an escaped quote; the strings are left alone.
		in = `["","a\\","\"1e2",1e3,-0,"\\\\",2E1]`
		require.NoError(t, cache.Cached(db, "n").Set(json.RawMessage(in)))
		var raw json.RawMessage
		_, err = cache.Cached(db, "n").Get(&raw)
		require.NoError(t, err)
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, raw))
		require.Equal(t, `["","a\\","\"1e2",1000,0,"\\\\",20]`, compact.String())
	})
}

// Increment accepts the same stored values on both databases: a number in
// exponent form that is an integer counts as one.
func TestIncrementExponentForms(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		for in, want := range map[string]int64{"1e3": 1001, "1.5e1": 16, "1E2": 101, "-0": 1, "5e0": 6} {
			require.NoError(t, cache.Cached(db, "i").Set(json.RawMessage(in)))
			n, err := cache.Cached(db, "i").Increment(1)
			require.NoError(t, err, in)
			require.Equal(t, want, n, in)
		}
		for _, in := range []string{"1.50e1", "1e-1", "1e19"} {
			require.NoError(t, cache.Cached(db, "i").Set(json.RawMessage(in)))
			_, err := cache.Cached(db, "i").Increment(1)
			require.ErrorIs(t, err, cache.ErrNotNumber, in) // 1e19: beyond int64
		}
	})
}

// A refused Increment reads the value again to tell why; when a concurrent
// Set stored an integer in between, it increments that instead of
// reporting an overflow. The Set runs in a callback before the second read,
// so the interleaving is certain.
func TestIncrementRetriesAfterConcurrentSet(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := cachetest.Reopen(t, b)
			require.NoError(t, db.Use(otelgorm.NewPlugin(otelgorm.WithoutMetrics())))
			other := cachetest.Reopen(t, b)
			require.NoError(t, cache.Cached(db, "c").Set("not a number"))
			var reads atomic.Int32
			// The second look reads the raw value, with no expiry condition.
			setBetween := func(tx *gorm.DB) {
				q := tx.Statement.SQL.String()
				if (strings.HasPrefix(q, `SELECT "value" FROM `) || strings.HasPrefix(q, "SELECT `value` FROM ")) &&
					!strings.Contains(q, "expires_at") &&
					reads.Add(1) == 1 {
					require.NoError(t, cache.Cached(other, "c").Set(5))
				}
			}
			require.NoError(t, db.Callback().Row().Before("gorm:row").Register("test:set_between", setBetween))
			require.NoError(t, db.Callback().Query().Before("gorm:query").Register("test:set_between", setBetween))
			n, err := cache.Cached(db, "c").Increment(1)
			require.NoError(t, err)
			require.EqualValues(t, 6, n)
			require.EqualValues(t, 1, reads.Load(), "the value was read again once")
		})
	}
}
