package cacheadmin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// TestPrettyJSONMatchesIndent: within the limit, prettyJSON prints what
// json.Indent prints.
func TestPrettyJSONMatchesIndent(t *testing.T) {
	t.Parallel()
	for _, js := range []string{
		`42`, `"s"`, `null`, `[]`, `{}`, `[ ]`, `{ }`, `[1,2,3]`, `{"a":1,"b":[true,false,null]}`,
		`{"a" : { "b" : [ ] , "c" : { } } , "d":"x\"y\\"}`,
		`["{[,:]}", "\u00e9\n", "é", -1.5e3]`,
		`[[[[1,[2]],{"k":[{}]}]]]`,
		` {"padded": "value"} `,
	} {
		var want bytes.Buffer
		require.NoError(t, json.Indent(&want, []byte(js), "", "  "), js)
		got, shown := prettyJSON([]byte(js), 1<<20)
		require.Equal(t, strings.TrimSpace(want.String()), string(got), js)
		require.Equal(t, len(js), shown, js)
	}
}

// TestPrettyJSONCutsAtTheLimit: the output never passes the limit, never
// splits a character, and shown counts the bytes of the value it covers.
func TestPrettyJSONCutsAtTheLimit(t *testing.T) {
	t.Parallel()
	js := []byte(`{"name":"Zoë Ünïcødé 😀","list":[1,2,{"deep":["é","x"]}],"s":"` + strings.Repeat("€", 50) + `"}`)
	var full bytes.Buffer
	require.NoError(t, json.Indent(&full, js, "", "  "))
	for limit := 0; limit <= full.Len()+1; limit++ {
		got, shown := prettyJSON(js, limit)
		require.LessOrEqual(t, len(got), limit)
		require.True(t, utf8.Valid(got), "limit %d: %q", limit, got)
		require.True(t, strings.HasPrefix(full.String(), string(got)), "limit %d: %q", limit, got)
		require.True(t, utf8.Valid(js[:shown]), "limit %d: shown %d splits a character", limit, shown)
		// The shown part of the value, pretty-printed, is the output up to
		// whitespace: nothing is counted that was not shown, nor shown that
		// was not counted.
		require.Equal(t, compact(t, js[:shown]), compact(t, got), "limit %d", limit)
		if limit >= full.Len() {
			require.Equal(t, len(js), shown)
		} else {
			require.Less(t, shown, len(js), "limit %d", limit)
		}
	}
}

// compact drops the whitespace outside strings.
func compact(t *testing.T, js []byte) string {
	t.Helper()
	var b strings.Builder
	in, esc := false, false
	for _, c := range js {
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// TestPrettyJSONBoundsDepth: past maxIndentDepth nothing is indented
// further, so the output of deep nesting grows with the value, not with the
// square of its depth.
func TestPrettyJSONBoundsDepth(t *testing.T) {
	t.Parallel()
	const depth = 9990
	js := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
	got, shown := prettyJSON(js, 1<<30)
	require.Equal(t, len(js), shown)
	// Lines up to the bound, then one compact run.
	require.Less(t, len(got), len(js)+4*maxIndentDepth*maxIndentDepth)
	var v any
	require.NoError(t, json.Unmarshal(got, &v), "still JSON")
}

// deepValue is the value of the report: 9,990 nested arrays in 19,980
// bytes, which pretty-printed in full took 833 MB.
func deepValue() cache.JSON {
	return cache.JSON(strings.Repeat("[", 9990) + strings.Repeat("]", 9990))
}

// TestPrettyJSONAllocations: the work is bounded by what is shown. A
// 20 kB value of deep nesting, and a 64 MiB flat one, allocate about the
// display limit, never the square of the depth or the size of the value.
func TestPrettyJSONAllocations(t *testing.T) {
	deep := []byte(deepValue())
	flat := []byte("[" + strings.Repeat(`"abcdefghijklmnopqrstuvwxyz",`, (64<<20)/29) + `"end"]`)
	for name, js := range map[string][]byte{"deep": deep, "flat 64 MiB": flat} {
		bytes := allocatedBytes(func() { _, _ = prettyJSON(js, maxShownValue) })
		require.Less(t, bytes, uint64(2*maxShownValue+4096), "%s: allocated %d bytes", name, bytes)
	}
}

// allocatedBytes reports how many bytes f allocates on the heap.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestEntryPageMemoryIsBounded renders the entry page of the reported
// values through the Handler and measures what the request allocates: the
// 20 kB deep value costs less than 4 MB (it cost 833 MB), and a 64 MiB flat
// value a small multiple of its size (reading it from the database is most
// of that), while the page shows the first part and says how much.
func TestEntryPageMemoryIsBounded(t *testing.T) {
	b := cachetest.SQLite(t)
	big := cache.JSON("[" + strings.Repeat(`"abcdefghijklmnopqrstuvwxyz",`, (64<<20)/29-1) + `"end"]`)
	require.NoError(t, b.DB.Create(&cache.CachedItem{Key: "deep", Value: deepValue()}).Error)
	require.NoError(t, b.DB.Create(&cache.CachedItem{Key: "big", Value: big}).Error)
	h := Handler(b.DB, Options{Authorize: AllowAll})

	var body string
	n := allocatedBytes(func() {
		var res *http.Response
		res, body = get(t, h, "/entry?key=deep")
		require.Equal(t, http.StatusOK, res.StatusCode)
	})
	t.Logf("deep page: %d bytes", n)
	require.Less(t, n, uint64(4<<20), "the deep value's page allocated %d bytes", n)
	require.NotContains(t, body, "too large", "19,980 bytes are shown in full")

	n = allocatedBytes(func() {
		var res *http.Response
		res, body = get(t, h, "/entry?key=big")
		require.Equal(t, http.StatusOK, res.StatusCode)
	})
	t.Logf("64 MiB page: %d bytes", n)
	require.Less(t, n, uint64(4*len(big)), "the 64 MiB value's page allocated %d bytes", n)
	require.Regexp(t, `this shows its first \d+\.\d KiB of 64\.0 MiB\.`, body)
	require.Contains(t, body, `&#34;abcdefghijklmnopqrstuvwxyz&#34;,`)
	require.NotContains(t, body, "&#34;end&#34;")
}
