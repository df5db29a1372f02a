package cache_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// validKey is the key rule of the contract, written out independently of
// the package's own check.
func validKey(k string) bool {
	return k != "" && utf8.ValidString(k) && !strings.ContainsRune(k, 0) && utf8.RuneCountInString(k) <= 255
}

// FuzzKey stores a value under any string: a valid key round-trips exactly
// (Get, GetMany, Exists, Delete see that key and no other); an invalid one
// fails every function with ErrInvalidKey and writes nothing. The seed
// corpus in testdata/fuzz/FuzzKey runs as a normal test.
func FuzzKey(f *testing.F) {
	backends := cachetest.Backends(f)
	f.Fuzz(func(t *testing.T, key string) {
		for _, b := range backends {
			fuzzKey(t, b, key)
		}
	})
}

func fuzzKey(t *testing.T, b cachetest.Backend, key string) {
	db := b.DB
	_, err := cache.Clear(db) // a failed input may have left entries
	require.NoError(t, err)
	e := cache.Cached(db, key)
	err = e.Set("v")
	if !validKey(key) {
		require.ErrorIs(t, err, cache.ErrInvalidKey, "%s: %q", b.Name, key)
		var computed int
		for _, c := range allCalls(key, nil) {
			if c.name == "Clear" || c.name == "ClearExpired" || c.name == "Stats" || c.name == "GetOrSet" {
				continue
			}
			require.ErrorIs(t, c.call(db), cache.ErrInvalidKey, "%s %s: %q", b.Name, c.name, key)
		}
		_, err := cache.GetOrSet(db, key, func() (int, error) { computed++; return 1, nil })
		require.ErrorIs(t, err, cache.ErrInvalidKey)
		require.Zero(t, computed)
		st, err := cache.Stats(db)
		require.NoError(t, err)
		require.Zero(t, st.Total, "%s: an invalid key wrote something", b.Name)
		return
	}
	require.NoError(t, err, "%s: %q", b.Name, key)
	var got string
	ok, err := e.Get(&got)
	require.NoError(t, err)
	require.True(t, ok, "%s: %q", b.Name, key)
	require.Equal(t, "v", got)
	keys := []string{key}
	for _, k := range []string{key + "x", "x" + key} {
		if validKey(k) {
			keys = append(keys, k)
		}
	}
	many, err := cache.GetMany[string](db, keys)
	require.NoError(t, err)
	require.Equal(t, map[string]string{key: "v"}, many, "%s", b.Name)
	var item cache.CachedItem
	require.NoError(t, db.Take(&item).Error)
	require.Equal(t, key, item.Key, "%s: the key was stored changed", b.Name)
	_, err = e.Increment(1)
	require.ErrorIs(t, err, cache.ErrNotNumber)
	deleted, err := e.Delete()
	require.NoError(t, err)
	require.True(t, deleted)
	st, err := cache.Stats(db)
	require.NoError(t, err)
	require.Zero(t, st.Total, "%s: %+v", b.Name, st)
}

// FuzzValue stores any bytes as a json.RawMessage: valid JSON either
// round-trips with the same meaning or is refused with ErrInvalidValue, and
// both databases decide alike (a \u0000 escape, which PostgreSQL cannot
// store, is refused on both); anything else is refused with
// ErrInvalidValue. No input may produce another error. The seed corpus in
// testdata/fuzz/FuzzValue runs as a normal test.
func FuzzValue(f *testing.F) {
	backends := cachetest.Backends(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var outcomes []string
		for _, b := range backends {
			outcomes = append(outcomes, fuzzValue(t, b.Name, b.DB, data))
		}
		for _, o := range outcomes[1:] {
			require.Equal(t, outcomes[0], o, "the databases disagree on %q: %v", data, outcomes)
		}
	})
}

func fuzzValue(t *testing.T, name string, db *gorm.DB, data []byte) string {
	_, err := cache.Clear(db) // a failed input may have left entries
	require.NoError(t, err)
	e := cache.Cached(db, "fuzz")
	err = e.Set(json.RawMessage(data))
	if err != nil {
		require.ErrorIs(t, err, cache.ErrInvalidValue, "%s: %q", name, data)
		ok, err := e.Exists()
		require.NoError(t, err)
		require.False(t, ok)
		return "refused"
	}
	require.True(t, json.Valid(data), "%s stored invalid JSON %q", name, data)
	var got json.RawMessage
	ok, err := e.Get(&got)
	require.NoError(t, err)
	require.True(t, ok)
	requireSameJSON(t, data, got, name)
	deleted, err := e.Delete()
	require.NoError(t, err)
	require.True(t, deleted)
	return "stored"
}

// requireSameJSON checks that two JSON texts mean the same: equal values,
// numbers compared as decimals (PostgreSQL prints 1e2 as 100), object keys
// in any order.
func requireSameJSON(t *testing.T, want, got []byte, name string) {
	t.Helper()
	w, err := decodeJSON(want)
	require.NoError(t, err)
	g, err := decodeJSON(got)
	require.NoError(t, err, "%s: stored JSON does not decode: %q", name, got)
	require.Equal(t, w, g, "%s: %q came back as %q", name, want, got)
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data: %v", err)
	}
	return normJSON(v), nil
}

func normJSON(v any) any {
	switch v := v.(type) {
	case json.Number:
		return normNumber(string(v))
	case []any:
		for i := range v {
			v[i] = normJSON(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = normJSON(v[k])
		}
	}
	return v
}

// normNumber writes a JSON number as 0.DIGITS×10^EXP with no leading or
// trailing zeros, without building the number (exponents may be huge).
func normNumber(s string) string {
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, exp := s, int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.ParseInt(strings.TrimPrefix(s[i+1:], "+"), 10, 64)
		if err != nil {
			return "huge:" + sign + s
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	point := int64(len(intPart)) + exp
	trimmed := strings.TrimLeft(digits, "0")
	point -= int64(len(digits) - len(trimmed))
	trimmed = strings.TrimRight(trimmed, "0")
	if trimmed == "" {
		return "0"
	}
	return fmt.Sprintf("%s0.%se%d", sign, trimmed, point)
}

func TestNormNumber(t *testing.T) {
	for _, c := range [][2]string{
		{"100", "1e2"}, {"0.10", "1E-1"}, {"-0", "0"}, {"0e-20000", "0.0"}, {"12.5", "1250e-2"},
	} {
		require.Equal(t, normNumber(c[0]), normNumber(c[1]), c)
	}
	require.NotEqual(t, normNumber("1"), normNumber("-1"))
	require.NotEqual(t, normNumber("1"), normNumber("10"))
}

// validTag is the tag rule of the contract, written out independently of
// the package's own check.
func validTag(s string) bool { return validKey(s) }

// FuzzTags tags an entry with any two strings, and deletes a prefix of any
// string: valid tags come back exactly (distinct, in byte order) and find
// the entry, and a near miss (the tag with a character added or changed in
// case) does not; an invalid one fails with ErrInvalidTag and writes
// nothing. DeletePrefix deletes exactly the keys that start with the prefix
// byte by byte. Both databases decide alike. Seeds run as a normal test.
func FuzzTags(f *testing.F) {
	for _, s := range [][2]string{
		{"product:7", "catalog"}, {"a", "a"}, {"A", "a"}, {"%", "_"}, {`\`, `\%`}, {"é", "e\u0301"},
		{"", "x"}, {"a\x00", "b"}, {"\xff", "b"}, {"\U0010FFFF", "\uFFFF"}, {"<&>", "\u2028"},
		{strings.Repeat("t", 255), strings.Repeat("t", 256)}, {"null", "[]"}, {`"`, `["a"]`},
	} {
		f.Add(s[0], s[1])
	}
	backends := cachetest.Backends(f)
	f.Fuzz(func(t *testing.T, tag, other string) {
		for _, b := range backends {
			fuzzTags(t, b, tag, other)
			fuzzPrefix(t, b, tag, other)
		}
	})
}

func fuzzTags(t *testing.T, b cachetest.Backend, tag, other string) {
	db := b.DB
	_, err := cache.Clear(db)
	require.NoError(t, err)
	err = cache.Cached(cache.WithTags(db, tag, other), "k").Set(1)
	if !validTag(tag) || !validTag(other) {
		require.ErrorIs(t, err, cache.ErrInvalidTag, "%s: %q %q", b.Name, tag, other)
		require.Zero(t, countRows(t, db))
		_, err = cache.InvalidateTags(db, tag, other)
		require.ErrorIs(t, err, cache.ErrInvalidTag)
		return
	}
	require.NoError(t, err, "%s: %q %q", b.Name, tag, other)
	want := []string{tag, other}
	slices.Sort(want)
	want = slices.Compact(want)
	got, err := cache.Cached(db, "k").Tags()
	require.NoError(t, err)
	require.Equal(t, want, got, "%s", b.Name)
	for _, near := range []string{tag + "x", "x" + tag, strings.ToUpper(tag), strings.ToLower(tag)} {
		if near == tag || near == other || !validTag(near) {
			continue
		}
		n, err := cache.InvalidateTags(db, near)
		require.NoError(t, err)
		require.Zero(t, n, "%s: %q deleted an entry tagged %q", b.Name, near, want)
	}
	n, err := cache.InvalidateTags(db, tag)
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "%s: %q", b.Name, tag)
}

func fuzzPrefix(t *testing.T, b cachetest.Backend, prefix, other string) {
	db := b.DB
	_, err := cache.Clear(db)
	require.NoError(t, err)
	candidates := []string{prefix, prefix + "x", prefix + other, other, other + prefix, "x" + prefix,
		strings.ToUpper(prefix) + "y", prefix[:len(prefix)/2] + "z"}
	var stored []string
	for _, k := range candidates {
		if validKey(k) && !slices.Contains(stored, k) {
			require.NoError(t, cache.Cached(db, k).Set(1))
			stored = append(stored, k)
		}
	}
	n, err := cache.DeletePrefix(db, prefix)
	if !validKey(prefix) {
		require.ErrorIs(t, err, cache.ErrInvalidKey, "%s: %q", b.Name, prefix)
		return
	}
	require.NoError(t, err)
	var want int64
	for _, k := range stored {
		has := strings.HasPrefix(k, prefix)
		if has {
			want++
		}
		ok, err := cache.Cached(db, k).Exists()
		require.NoError(t, err)
		require.Equal(t, !has, ok, "%s: prefix %q, key %q", b.Name, prefix, k)
	}
	require.Equal(t, want, n, "%s: prefix %q", b.Name, prefix)
}
