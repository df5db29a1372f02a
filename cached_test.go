package cache_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

func TestRoundTrip(t *testing.T) {
	big := strings.Repeat("x", 5<<20)
	cases := []struct {
		name  string
		value any
		dst   func() any
		want  any
	}{
		{"string", "hello", func() any { return new(string) }, "hello"},
		{"empty string", "", func() any { return new(string) }, ""},
		{"false", false, func() any { return new(bool) }, false},
		{"empty list", []int{}, func() any { return &[]int{} }, []int{}},
		{"unicode", "héllo, 世界 🎉", func() any { return new(string) }, "héllo, 世界 🎉"},
		{"int64 beyond 2^53", int64(1<<62 + 1), func() any { return new(int64) }, int64(1<<62 + 1)},
		{"min int64", int64(math.MinInt64), func() any { return new(int64) }, int64(math.MinInt64)},
		{"nested", map[string]any{"a": []any{1.0, "two", map[string]any{"b": nil}}},
			func() any { return &map[string]any{} },
			map[string]any{"a": []any{1.0, "two", map[string]any{"b": nil}}}},
		{"backslash u0000 text", `\u0000`, func() any { return new(string) }, `\u0000`},
		{"5 MiB", big, func() any { return new(string) }, big},
	}
	each(t, func(t *testing.T, db *gorm.DB) {
		for _, c := range cases {
			key := "rt:" + c.name
			require.NoError(t, cache.Cached(db, key).Set(c.value), c.name)
			dst := c.dst()
			ok, err := cache.Cached(db, key).Get(dst)
			require.NoError(t, err, c.name)
			require.True(t, ok, c.name)
			require.Equal(t, c.want, deref(dst), c.name)
		}
	})
}

func deref(p any) any {
	switch v := p.(type) {
	case *string:
		return *v
	case *bool:
		return *v
	case *int64:
		return *v
	case *[]int:
		return *v
	case *map[string]any:
		return *v
	}
	panic(fmt.Sprintf("deref %T", p))
}

func TestGetMissLeavesDst(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		s := "untouched"
		ok, err := cache.Cached(db, "missing").Get(&s)
		require.NoError(t, err)
		require.False(t, ok)
		require.Equal(t, "untouched", s)

		v, err := cache.Cached(db, "missing").Value()
		require.NoError(t, err)
		require.Nil(t, v)

		ok, err = cache.Cached(db, "missing").Exists()
		require.NoError(t, err)
		require.False(t, ok)
	})
}

func TestExpiredReadsAsAbsentButStays(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		e := cache.Cached(db, "old")
		require.NoError(t, e.Set("v", cache.In(-time.Second)))
		ok, err := e.Exists()
		require.NoError(t, err)
		require.False(t, ok)
		var s string
		ok, err = e.Get(&s)
		require.NoError(t, err)
		require.False(t, ok)
		v, err := e.Value()
		require.NoError(t, err)
		require.Nil(t, v)
		_, ok, err = cache.Get[string](db, "old")
		require.NoError(t, err)
		require.False(t, ok)
		require.EqualValues(t, 1, countRows(t, db), "reads must not delete")

		require.NoError(t, e.Set("v", cache.In(time.Hour)))
		ok, err = e.Exists()
		require.NoError(t, err)
		require.True(t, ok)
	})
}

func TestNullIsAHit(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		e := cache.Cached(db, "null")
		require.NoError(t, e.Set(nil))
		ok, err := e.Exists()
		require.NoError(t, err)
		require.True(t, ok)
		var p *int
		ok, err = e.Get(&p)
		require.NoError(t, err)
		require.True(t, ok)
		require.Nil(t, p)
		calls := 0
		got, err := cache.GetOrSet(db, "null", func() (*int, error) { calls++; n := 1; return &n, nil })
		require.NoError(t, err)
		require.Nil(t, got)
		require.Zero(t, calls)
		require.Equal(t, "null", string(row(t, db, "null").Value))
	})
}

func TestValueDecodesLikeEncodingJSON(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "v").Set(map[string]any{"n": 2, "l": []string{"a"}}))
		v, err := cache.Cached(db, "v").Value()
		require.NoError(t, err)
		require.Equal(t, map[string]any{"n": 2.0, "l": []any{"a"}}, v)
	})
}

func TestSetKeepsIdentityAndRewritesExpiry(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		before := time.Now().UTC()
		require.NoError(t, cache.Cached(db, "k").Set(1, cache.In(time.Hour)))
		after := time.Now().UTC()
		first := row(t, db, "k")
		require.NotNil(t, first.ExpiresAt)
		require.False(t, first.CreatedAt.Before(before.Truncate(time.Microsecond)), "CreatedAt from Go's clock")
		require.False(t, first.CreatedAt.After(after.Add(time.Microsecond)))
		sameTime(t, first.CreatedAt, first.UpdatedAt)

		time.Sleep(2 * time.Millisecond)
		require.NoError(t, cache.Cached(db, "k").Set(2))
		second := row(t, db, "k")
		require.Equal(t, first.ID, second.ID)
		sameTime(t, first.CreatedAt, second.CreatedAt)
		require.True(t, second.UpdatedAt.After(first.UpdatedAt))
		require.Nil(t, second.ExpiresAt, "Set without expiry makes the entry permanent")
		require.Equal(t, "2", string(second.Value))
	})
}

func TestTimesStoredInUTC(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		zone := time.FixedZone("UTC+5", 5*3600)
		at := time.Date(2100, 1, 2, 8, 4, 5, 123456000, zone)
		require.NoError(t, cache.Cached(db, "z").Set(1, cache.At(at)))
		it := row(t, db, "z")
		require.True(t, it.ExpiresAt.Equal(at))
		_, off := it.ExpiresAt.Zone()
		require.Zero(t, off)
		// The scopes agree with what the API stored.
		var n int64
		require.NoError(t, db.Model(&cache.CachedItem{}).Scopes(cache.Unexpired).Count(&n).Error)
		require.EqualValues(t, 1, n)
	})
}

func TestAdd(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		e := cache.Cached(db, "a")
		ok, err := e.Add("first", cache.In(time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = e.Add("second")
		require.NoError(t, err)
		require.False(t, ok)
		v, _, err := cache.Get[string](db, "a")
		require.NoError(t, err)
		require.Equal(t, "first", v)

		require.NoError(t, cache.Cached(db, "x").Set("stale", cache.In(-time.Minute)))
		old := row(t, db, "x")
		time.Sleep(2 * time.Millisecond)
		ok, err = cache.Cached(db, "x").Add("fresh", cache.In(time.Hour))
		require.NoError(t, err)
		require.True(t, ok, "Add over an expired entry wins")
		fresh := row(t, db, "x")
		require.Equal(t, `"fresh"`, string(fresh.Value))
		require.True(t, fresh.CreatedAt.After(old.CreatedAt), "fresh entry")
		require.True(t, fresh.ExpiresAt.After(time.Now()))
	})
}

func TestAddConcurrentOneWins(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		for round := range 3 {
			key := fmt.Sprintf("race:%d", round)
			var wins atomic.Int32
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := cache.Cached(db, key).Add(i)
					if err != nil {
						errs <- err
					}
					if ok {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			require.EqualValues(t, 1, wins.Load())
		}
	})
}

func TestIncrement(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		e := cache.Cached(db, "n")
		n, err := e.Increment(3, cache.In(time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 3, n)
		exp := row(t, db, "n").ExpiresAt
		require.NotNil(t, exp)

		n, err = e.Increment(4, cache.In(time.Minute))
		require.NoError(t, err)
		require.EqualValues(t, 7, n)
		sameTime(t, *exp, *row(t, db, "n").ExpiresAt) // fixed window: the expiry stays

		n, err = e.Increment(-10)
		require.NoError(t, err)
		require.EqualValues(t, -3, n)
		n, err = e.Decrement(2)
		require.NoError(t, err)
		require.EqualValues(t, -5, n)
		v, _, err := cache.Get[int64](db, "n")
		require.NoError(t, err)
		require.EqualValues(t, -5, v)

		n, err = cache.Cached(db, "d").Decrement(4)
		require.NoError(t, err)
		require.EqualValues(t, -4, n)
		require.Nil(t, row(t, db, "d").ExpiresAt)

		// An expired counter restarts with the new expiry.
		require.NoError(t, cache.Cached(db, "w").Set(100, cache.In(-time.Second)))
		n, err = cache.Cached(db, "w").Increment(1, cache.In(time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		require.True(t, row(t, db, "w").ExpiresAt.After(time.Now()))

		// A stored null counts as 0.
		require.NoError(t, cache.Cached(db, "null").Set(nil))
		n, err = cache.Cached(db, "null").Increment(5)
		require.NoError(t, err)
		require.EqualValues(t, 5, n)
	})
}

func TestIncrementRefusesNonIntegers(t *testing.T) {
	values := map[string]any{
		"text":   "abc",
		"quoted": "5",
		"float":  1.5,
		"object": map[string]int{"a": 1},
		"list":   []int{1},
		"bool":   true,
		"huge":   json.RawMessage(`123456789012345678901234567890`),
	}
	each(t, func(t *testing.T, db *gorm.DB) {
		for name, v := range values {
			require.NoError(t, cache.Cached(db, name).Set(v))
			before := row(t, db, name).Value
			_, err := cache.Cached(db, name).Increment(1)
			require.ErrorIs(t, err, cache.ErrNotNumber, name)
			require.Equal(t, string(before), string(row(t, db, name).Value), "%s: value kept", name)
		}
	})
}

func TestIncrementOverflow(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "max").Set(int64(math.MaxInt64-1)))
		n, err := cache.Cached(db, "max").Increment(1)
		require.NoError(t, err)
		require.EqualValues(t, int64(math.MaxInt64), n)
		_, err = cache.Cached(db, "max").Increment(1)
		require.ErrorIs(t, err, cache.ErrOverflow)
		v, _, err := cache.Get[int64](db, "max")
		require.NoError(t, err)
		require.EqualValues(t, int64(math.MaxInt64), v, "value kept")

		require.NoError(t, cache.Cached(db, "min").Set(int64(math.MinInt64+1)))
		n, err = cache.Cached(db, "min").Decrement(1)
		require.NoError(t, err)
		require.EqualValues(t, int64(math.MinInt64), n)
		_, err = cache.Cached(db, "min").Decrement(1)
		require.ErrorIs(t, err, cache.ErrOverflow)
		_, err = cache.Cached(db, "min").Increment(math.MinInt64)
		require.ErrorIs(t, err, cache.ErrOverflow)
		_, err = cache.Cached(db, "other").Decrement(math.MinInt64)
		require.ErrorIs(t, err, cache.ErrOverflow)
		v, _, err = cache.Get[int64](db, "min")
		require.NoError(t, err)
		require.EqualValues(t, int64(math.MinInt64), v)
	})
}

func TestIncrementConcurrent(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		var wg sync.WaitGroup
		errs := make(chan error, 400)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					if _, err := cache.Cached(db, "hits").Increment(1, cache.In(time.Hour)); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		n, ok, err := cache.Get[int64](db, "hits")
		require.NoError(t, err)
		require.True(t, ok)
		require.EqualValues(t, 400, n)
	})
}

func TestTouch(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "t").Set("v", cache.In(time.Minute)))
		before := row(t, db, "t")
		time.Sleep(2 * time.Millisecond)
		ok, err := cache.Cached(db, "t").Touch(cache.In(time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
		after := row(t, db, "t")
		require.True(t, after.ExpiresAt.After(before.ExpiresAt.Add(50*time.Minute)))
		require.Equal(t, string(before.Value), string(after.Value))
		sameTime(t, before.CreatedAt, after.CreatedAt)
		require.True(t, after.UpdatedAt.After(before.UpdatedAt))

		ok, err = cache.Cached(db, "t").Touch()
		require.NoError(t, err)
		require.True(t, ok)
		require.Nil(t, row(t, db, "t").ExpiresAt, "Touch without expiry: forever")

		ok, err = cache.Cached(db, "missing").Touch(cache.In(time.Hour))
		require.NoError(t, err)
		require.False(t, ok)
		require.NoError(t, cache.Cached(db, "gone").Set(1, cache.In(-time.Second)))
		ok, err = cache.Cached(db, "gone").Touch(cache.In(time.Hour))
		require.NoError(t, err)
		require.False(t, ok, "an expired entry is not revived")
	})
}

func TestDelete(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "d").Set(1))
		require.NoError(t, cache.Cached(db, "x").Set(1, cache.In(-time.Second)))
		for _, k := range []string{"d", "x"} {
			ok, err := cache.Cached(db, k).Delete()
			require.NoError(t, err)
			require.True(t, ok, k)
			ok, err = cache.Cached(db, k).Delete()
			require.NoError(t, err)
			require.False(t, ok, k)
		}
		require.Zero(t, countRows(t, db))
	})
}

func TestBulk(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		values := make(map[string]any, 5200)
		keys := make([]string, 0, 5200)
		for i := range 5200 {
			k := fmt.Sprintf("bulk:%05d", i)
			values[k] = i
			keys = append(keys, k)
		}
		require.NoError(t, cache.SetMany(db, values, cache.In(time.Hour)))
		require.EqualValues(t, 5200, countRows(t, db))
		require.NoError(t, cache.Cached(db, "bulk:00001").Set(1, cache.In(-time.Second)))

		got, err := cache.GetMany[int](db, append(keys, "absent"))
		require.NoError(t, err)
		require.Len(t, got, 5199, "live entries only")
		require.Equal(t, 4242, got["bulk:04242"])
		_, ok := got["bulk:00001"]
		require.False(t, ok)

		empty, err := cache.GetMany[int](db, nil)
		require.NoError(t, err)
		require.Empty(t, empty)

		n, err := cache.DeleteMany(db, keys[:5100])
		require.NoError(t, err)
		require.EqualValues(t, 5100, n)
		n, err = cache.Clear(db)
		require.NoError(t, err)
		require.EqualValues(t, 100, n)
		require.Zero(t, countRows(t, db))
	})
}

func TestSetManyValidatesFirst(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		err := cache.SetMany(db, map[string]any{"a": 1, "b": math.NaN(), "c": 3})
		require.ErrorIs(t, err, cache.ErrInvalidValue)
		err = cache.SetMany(db, map[string]any{"a": 1, "": 2})
		require.ErrorIs(t, err, cache.ErrInvalidKey)
		err = cache.SetMany(db, map[string]any{"a": 1}, cache.At(time.Time{}))
		require.ErrorIs(t, err, cache.ErrInvalidExpiration)
		require.Zero(t, countRows(t, db), "nothing written")

		require.NoError(t, cache.SetMany(db, map[string]any{"a": 1, "b": "two"}))
		require.NoError(t, cache.Cached(db, "a").Set(0, cache.In(time.Minute)))
		id := row(t, db, "a").ID
		require.NoError(t, cache.SetMany(db, map[string]any{"a": 10}))
		it := row(t, db, "a")
		require.Equal(t, id, it.ID)
		require.Nil(t, it.ExpiresAt)
		require.Equal(t, "10", string(it.Value))
	})
}

func TestInvalidKeys(t *testing.T) {
	bad := map[string]string{
		"empty":        "",
		"too long":     strings.Repeat("k", 256),
		"too long mb":  strings.Repeat("é", 256),
		"invalid utf8": "a\xffb",
		"nul":          "a\x00b",
		"nul first":    "\x00a",
		"nul alone":    "\x00",
	}
	calls := map[string]func(db *gorm.DB, k string) error{
		"Set":       func(db *gorm.DB, k string) error { return cache.Cached(db, k).Set(1) },
		"Add":       func(db *gorm.DB, k string) error { _, err := cache.Cached(db, k).Add(1); return err },
		"Get":       func(db *gorm.DB, k string) error { var v any; _, err := cache.Cached(db, k).Get(&v); return err },
		"Value":     func(db *gorm.DB, k string) error { _, err := cache.Cached(db, k).Value(); return err },
		"Exists":    func(db *gorm.DB, k string) error { _, err := cache.Cached(db, k).Exists(); return err },
		"Delete":    func(db *gorm.DB, k string) error { _, err := cache.Cached(db, k).Delete(); return err },
		"Touch":     func(db *gorm.DB, k string) error { _, err := cache.Cached(db, k).Touch(); return err },
		"Increment": func(db *gorm.DB, k string) error { _, err := cache.Cached(db, k).Increment(1); return err },
		"Decrement": func(db *gorm.DB, k string) error { _, err := cache.Cached(db, k).Decrement(1); return err },
		"GetT":      func(db *gorm.DB, k string) error { _, _, err := cache.Get[int](db, k); return err },
		"GetOrSet": func(db *gorm.DB, k string) error {
			_, err := cache.GetOrSet(db, k, func() (int, error) { return 1, nil })
			return err
		},
		"GetMany":    func(db *gorm.DB, k string) error { _, err := cache.GetMany[int](db, []string{"ok", k}); return err },
		"SetMany":    func(db *gorm.DB, k string) error { return cache.SetMany(db, map[string]any{"ok": 1, k: 1}) },
		"DeleteMany": func(db *gorm.DB, k string) error { _, err := cache.DeleteMany(db, []string{"ok", k}); return err },
	}
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "ok").Set(0))
		for kn, k := range bad {
			for cn, call := range calls {
				err := call(db, k)
				require.ErrorIs(t, err, cache.ErrInvalidKey, "%s with %s key", cn, kn)
			}
		}
		require.EqualValues(t, 1, countRows(t, db), "nothing written or deleted")
		v, ok, err := cache.Get[int](db, "ok")
		require.NoError(t, err)
		require.True(t, ok)
		require.Zero(t, v)

		long := strings.Repeat("é", 255)
		require.NoError(t, cache.Cached(db, long).Set("fine"))
		got, ok, err := cache.Get[string](db, long)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "fine", got)
	})
}

func TestSQLLookingKeysAreJustKeys(t *testing.T) {
	keys := []string{
		`'; DROP TABLE cached_items; --`,
		`" OR 1=1 --`,
		`key = ? AND 1`,
		`%_\`,
		`@name $1 ?`,
	}
	each(t, func(t *testing.T, db *gorm.DB) {
		for i, k := range keys {
			require.NoError(t, cache.Cached(db, k).Set(i))
		}
		for i, k := range keys {
			v, ok, err := cache.Get[int](db, k)
			require.NoError(t, err)
			require.True(t, ok, k)
			require.Equal(t, i, v, k)
		}
		got, err := cache.GetMany[int](db, keys)
		require.NoError(t, err)
		require.Len(t, got, len(keys))
		require.EqualValues(t, len(keys), countRows(t, db))
	})
}

func TestInvalidValues(t *testing.T) {
	bad := map[string]any{
		"NaN":         math.NaN(),
		"+Inf":        math.Inf(1),
		"chan":        make(chan int),
		"func":        func() {},
		"nul":         "a\x00b",
		"nested nul":  map[string]any{"k": []string{"\x00"}},
		"raw nul":     json.RawMessage(`"\u0000"`),
		"raw invalid": json.RawMessage(`{`),
		"surrogate":   json.RawMessage(`"\ud800"`),
		// A high surrogate followed by the first code point past the low
		// ones, and a low surrogate alone.
		"high, then not low": json.RawMessage(`"\udbff\ue000"`),
		"low alone":          json.RawMessage(`"\udc00"`),
	}
	each(t, func(t *testing.T, db *gorm.DB) {
		for name, v := range bad {
			err := cache.Cached(db, "v").Set(v)
			require.ErrorIs(t, err, cache.ErrInvalidValue, name)
			_, err = cache.Cached(db, "v").Add(v)
			require.ErrorIs(t, err, cache.ErrInvalidValue, name)
		}
		_, err := cache.GetOrSet(db, "v", func() (float64, error) { return math.Inf(-1), nil })
		require.ErrorIs(t, err, cache.ErrInvalidValue)
		require.Zero(t, countRows(t, db))
		// Real surrogate pairs are fine, the first and the last among them.
		for raw, want := range map[string]string{`"\ud83d\ude00"`: "😀", `"\uD83D\uDE00"`: "😀", `"\ud800\udc00"`: "\U00010000", `"\udbff\udfff"`: "\U0010FFFF"} {
			require.NoError(t, cache.Cached(db, "pair").Set(json.RawMessage(raw)), raw)
			s, _, err := cache.Get[string](db, "pair")
			require.NoError(t, err)
			require.Equal(t, want, s, raw)
		}
	})
}

// TestNumberLimits pins the edges of what PostgreSQL's numeric holds: the
// last number on each side is stored on every database, the next one is
// ErrInvalidValue on every database.
func TestNumberLimits(t *testing.T) {
	// Written out, without an exponent: a value that long is scanned.
	longFrac := "0." + strings.Repeat("1", 16383)
	fits := []string{"1e131071", "0.001e131074", "1e-16383", "0e1073741822", "0.5e-16382", longFrac}
	beyond := []string{"1e131072", "0.001e131075", "1e-16384", "0e1073741823", "0e-1073741823", "[1, 0E+99999999999]", longFrac + "1"}
	each(t, func(t *testing.T, db *gorm.DB) {
		for _, n := range fits {
			require.NoError(t, cache.Cached(db, "n").Set(json.RawMessage(n)), n)
			var got json.RawMessage
			ok, err := cache.Cached(db, "n").Get(&got)
			require.NoError(t, err, n)
			require.True(t, ok, n)
		}
		for _, n := range beyond {
			require.ErrorIs(t, cache.Cached(db, "n").Set(json.RawMessage(n)), cache.ErrInvalidValue, n)
		}
	})
}

func TestExpirations(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		now := time.Now().UTC()
		ok := []struct {
			exp  cache.Expiration
			want time.Time
		}{
			{cache.In(time.Hour), now.Add(time.Hour)},
			{cache.Seconds(300), now.Add(300 * time.Second)},
			{cache.Seconds(1.5), now.Add(1500 * time.Millisecond)},
			{cache.At(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
			{cache.At(time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)), time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
		}
		for i, c := range ok {
			require.NoError(t, cache.Cached(db, "e").Set(i, c.exp))
			require.WithinDuration(t, c.want, *row(t, db, "e").ExpiresAt, time.Second, "case %d", i)
		}
		require.NoError(t, cache.Cached(db, "neg").Set(1, cache.Seconds(-1)))
		exists, err := cache.Cached(db, "neg").Exists()
		require.NoError(t, err)
		require.False(t, exists, "negative seconds: already expired")

		bad := map[string][]cache.Expiration{
			"zero At":      {cache.At(time.Time{})},
			"zero value":   {{}},
			"NaN":          {cache.Seconds(math.NaN())},
			"+Inf":         {cache.Seconds(math.Inf(1))},
			"-Inf":         {cache.Seconds(math.Inf(-1))},
			"year 10000":   {cache.At(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))},
			"huge seconds": {cache.Seconds(1e15)},
			"year 0":       {cache.At(time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC))},
			"two":          {cache.In(time.Hour), cache.In(time.Minute)},
		}
		for name, exp := range bad {
			err := cache.Cached(db, "bad").Set(1, exp...)
			require.ErrorIs(t, err, cache.ErrInvalidExpiration, name)
			_, err = cache.Cached(db, "bad").Increment(1, exp...)
			require.ErrorIs(t, err, cache.ErrInvalidExpiration, name)
			_, err = cache.Cached(db, "e").Touch(exp...)
			require.ErrorIs(t, err, cache.ErrInvalidExpiration, name)
		}
		_, err = cache.Cached(db, "bad").Value()
		require.NoError(t, err)
		n, err := cache.Cached(db, "bad").Exists()
		require.NoError(t, err)
		require.False(t, n, "nothing written")
	})
}

func TestErrorsAreWrapped(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		err := cache.Cached(db, "k").Set(math.NaN())
		require.ErrorIs(t, err, cache.ErrInvalidValue)
		require.True(t, strings.HasPrefix(err.Error(), `cache: set "k": `), err.Error())
		_, err = cache.Cached(db, "").Exists()
		require.True(t, strings.HasPrefix(err.Error(), `cache: exists "": `), err.Error())
		_, err = cache.GetMany[int](db, []string{""})
		require.True(t, strings.HasPrefix(err.Error(), `cache: get many: `), err.Error())
	})
}

func TestGetOrSet(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		calls := 0
		compute := func() (map[string]int, error) { calls++; return map[string]int{"n": calls}, nil }
		v, err := cache.GetOrSet(db, "g", compute, cache.In(time.Hour))
		require.NoError(t, err)
		require.Equal(t, map[string]int{"n": 1}, v)
		v, err = cache.GetOrSet(db, "g", compute, cache.In(time.Hour))
		require.NoError(t, err)
		require.Equal(t, map[string]int{"n": 1}, v)
		require.Equal(t, 1, calls)
		require.NotNil(t, row(t, db, "g").ExpiresAt)

		boom := errors.New("boom")
		_, err = cache.GetOrSet(db, "fail", func() (int, error) { return 0, boom })
		require.ErrorIs(t, err, boom)
		require.Contains(t, err.Error(), `cache: get or set "fail"`)
		exists, err := cache.Cached(db, "fail").Exists()
		require.NoError(t, err)
		require.False(t, exists, "nothing stored on error")
	})
}

func TestGetOrSetComputesOnce(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		var calls atomic.Int32
		release := make(chan struct{})
		var wg sync.WaitGroup
		results := make(chan int, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := cache.GetOrSet(db, "once", func() (int, error) {
					calls.Add(1)
					<-release
					return 42, nil
				})
				if err == nil {
					results <- v
				}
			}()
		}
		time.Sleep(100 * time.Millisecond) // let the goroutines miss and join the flight
		close(release)
		wg.Wait()
		close(results)
		n := 0
		for v := range results {
			require.Equal(t, 42, v)
			n++
		}
		require.Equal(t, 10, n)
		require.EqualValues(t, 1, calls.Load())
	})
}

func TestGetOrSetInTransactionHasOwnFlight(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		inside := make(chan struct{})
		release := make(chan struct{})
		var releaseOnce sync.Once
		// A failing test still lets the transaction end, so that the
		// cleanup does not wait on it forever.
		t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
		done := make(chan error, 1)
		go func() {
			done <- db.Transaction(func(tx *gorm.DB) error {
				_, err := cache.GetOrSet(tx, "tx", func() (string, error) {
					close(inside)
					<-release
					return "inside", nil
				})
				return err
			})
		}()
		select {
		case <-inside:
		case err := <-done:
			t.Fatalf("the transaction's GetOrSet returned without computing: %v", err)
		case <-time.After(time.Minute):
			t.Fatal("the transaction's GetOrSet never computed")
		}
		// The transaction's flight is in progress. A call outside the
		// transaction must compute on its own rather than wait for it: were
		// the flights shared, its compute would never run while the
		// transaction's is blocked.
		outside := make(chan struct{})
		got := make(chan error, 1)
		go func() {
			_, err := cache.GetOrSet(db, "tx", func() (string, error) {
				close(outside)
				return "outside", nil
			})
			got <- err
		}()
		select {
		case <-outside:
		case <-time.After(10 * time.Second):
			t.Fatal("the call outside the transaction waited for the transaction's flight")
		}
		// On SQLite the transaction holds the write lock, so the outside
		// call's write completes only once the transaction is done.
		releaseOnce.Do(func() { close(release) })
		for _, ch := range []chan error{done, got} {
			select {
			case err := <-ch:
				require.NoError(t, err)
			case <-time.After(time.Minute):
				t.Fatal("a GetOrSet call did not return")
			}
		}
	})
}

func TestContextCancels(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := cache.Cached(db.WithContext(ctx), "c").Set(1)
		require.ErrorIs(t, err, context.Canceled)
		_, err = cache.Cached(db.WithContext(ctx), "c").Exists()
		require.ErrorIs(t, err, context.Canceled)
		dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer dcancel()
		_, err = cache.Cached(db.WithContext(dctx), "c").Increment(1)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Zero(t, countRows(t, db), "nothing written")
	})
}

func TestTransactions(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		rollback := errors.New("rollback")
		err := db.Transaction(func(tx *gorm.DB) error {
			require.NoError(t, cache.Cached(tx, "r").Set(1))
			require.NoError(t, cache.SetMany(tx, map[string]any{"r2": 2}))
			ok, err := cache.Cached(tx, "r").Exists()
			require.NoError(t, err)
			require.True(t, ok, "visible inside the transaction")
			return rollback
		})
		require.ErrorIs(t, err, rollback)
		require.Zero(t, countRows(t, db), "rolled back with the transaction")

		require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
			return cache.Cached(tx, "c").Set(1)
		}))
		require.EqualValues(t, 1, countRows(t, db))
	})
}

func TestRefusedCallKeepsTransactionUsable(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "text").Set("abc"))
		require.NoError(t, cache.Cached(db, "max").Set(int64(math.MaxInt64)))
		err := db.Transaction(func(tx *gorm.DB) error {
			_, err := cache.Cached(tx, "text").Increment(1)
			require.ErrorIs(t, err, cache.ErrNotNumber)
			_, err = cache.Cached(tx, "max").Increment(1)
			require.ErrorIs(t, err, cache.ErrOverflow)
			require.ErrorIs(t, cache.Cached(tx, "bad").Set(math.NaN()), cache.ErrInvalidValue)
			// The transaction still works (PostgreSQL aborts one on any SQL error).
			if err := cache.Cached(tx, "after").Set("ok"); err != nil {
				return err
			}
			return tx.Model(&cache.CachedItem{}).Where(&cache.CachedItem{Key: "text"}).
				Update("value", cache.JSON(`"changed"`)).Error
		})
		require.NoError(t, err)
		v, ok, err := cache.Get[string](db, "after")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "ok", v)
		v, _, err = cache.Get[string](db, "text")
		require.NoError(t, err)
		require.Equal(t, "changed", v)
	})
}

func TestCallerSessionUnchanged(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "a").Set(1))
		q := db.Model(&cache.CachedItem{}).Where(&cache.CachedItem{Key: "a"})
		// A Where would change the cache's SQL: refused, not dropped.
		require.ErrorIs(t, cache.Cached(q, "b").Set(2), cache.ErrUnsupportedSession)
		_, err := cache.Cached(q, "b").Exists()
		require.ErrorIs(t, err, cache.ErrUnsupportedSession)
		_, err = cache.Stats(q)
		require.ErrorIs(t, err, cache.ErrUnsupportedSession)
		var n int64
		require.NoError(t, q.Count(&n).Error)
		require.EqualValues(t, 1, n, "the caller's query kept only its own condition")
		require.EqualValues(t, 1, countRows(t, db))
	})
}

func TestRejectedInputNeverReachesTheDatabase(t *testing.T) {
	b := cachetest.SQLite(t)
	db := cachetest.Reopen(t, b)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	require.NoError(t, sqlDB.Close())
	// With the pool closed any query fails; validation errors come first.
	require.ErrorIs(t, cache.Cached(db, "").Set(1), cache.ErrInvalidKey)
	require.ErrorIs(t, cache.Cached(db, "k").Set(math.NaN()), cache.ErrInvalidValue)
	require.ErrorIs(t, cache.Cached(db, "k").Set(1, cache.At(time.Time{})), cache.ErrInvalidExpiration)
	_, err = cache.GetMany[int](db, []string{"a", ""})
	require.ErrorIs(t, err, cache.ErrInvalidKey)
	// A real call reports the closed database, wrapped.
	err = cache.Cached(db, "k").Set(1)
	require.Error(t, err)
	require.Contains(t, err.Error(), `cache: set "k": `)
	require.Contains(t, err.Error(), "closed")
}

func TestUnsupportedDatabase(t *testing.T) {
	require.Error(t, cache.Cached(nil, "k").Set(1))
	_, err := cache.Stats(nil)
	require.Error(t, err)
}

func TestCachedItemJSON(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "j").Set(map[string]int{"a": 1}))
		it := row(t, db, "j")
		b, err := json.Marshal(it)
		require.NoError(t, err)
		require.Contains(t, string(b), `"Value":{"a":1}`, "the value embeds as JSON, not base64")
		require.Equal(t, "j", cache.Cached(db, "j").Key())
	})
}

func TestPrepareStmtSessions(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := cachetest.Reopen(t, b).Session(&gorm.Session{PrepareStmt: true})
			require.NoError(t, cache.Cached(db, "p").Set(1))
			n, err := cache.Cached(db, "p").Increment(2)
			require.NoError(t, err)
			require.EqualValues(t, 3, n)
			require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
				_, err := cache.Cached(tx, "p").Increment(1)
				return err
			}))
			v, ok, err := cache.Get[int](db, "p")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, 4, v)
		})
	}
}

func TestHTMLCharactersStoredAsIs(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		v := map[string]string{"html": "<b>a & b</b>", "escaped": `\u003c stays`}
		require.NoError(t, cache.Cached(db, "h").Set(v))
		stored := string(row(t, db, "h").Value)
		require.Contains(t, stored, `<b>a & b</b>`, "no \\u003c escapes in the table")
		require.Contains(t, stored, `\\u003c stays`)
		got, ok, err := cache.Get[map[string]string](db, "h")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, v, got)
	})
}
