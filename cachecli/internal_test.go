package cachecli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
)

func TestUnescapeHTML(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`"\u003cb\u003e \u0026 \u003C"`: `"<b> & <"`,
		`"\\u003c"`:                     `"\\u003c"`, // an escaped backslash, then text
		`"\\\u003c"`:                    `"\\<"`,
		`"\u0041\n\"\u2028"`:            `"\u0041\n\"\u2028"`,
		`{"a":[1,"\u0026amp;"]}`:        `{"a":[1,"&amp;"]}`,
		`"no escapes"`:                  `"no escapes"`,
	} {
		require.Equal(t, want, string(unescapeHTML([]byte(in))), in)
	}
}

func TestHumanBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		8192 * 3: "24.0 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB",
	} {
		require.Equal(t, want, humanBytes(n), n)
	}
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{`1`, `"s"`, `null`, `true`, ` {"a":[1,2]} `, `-0.5e3`} {
		require.NoError(t, checkJSON(ok), ok)
	}
	for in, want := range map[string]string{
		`hello`:    `invalid JSON value: invalid character 'h' looking for beginning of value (a string needs quotes: '"hello"')`,
		`{`:        `invalid JSON value: unexpected end of JSON input`,
		`[1,]`:     `invalid JSON value: invalid character ']' looking for beginning of value`,
		`'single'`: `invalid JSON value: invalid character '\'' looking for beginning of value (a string needs quotes: '"'single'"')`,
		`NaN`:      `invalid JSON value: invalid character 'N' looking for beginning of value (a string needs quotes: '"NaN"')`,
	} {
		require.EqualError(t, checkJSON(in), want, in)
	}
}

func TestEntries(t *testing.T) {
	t.Parallel()
	require.Equal(t, "0 entries", entries(0))
	require.Equal(t, "1 entry", entries(1))
	require.Equal(t, "2 expired entries", entries(2, "expired"))
	require.Equal(t, "1 expired entry", entries(1, "expired"))
}

func TestCellsAndFit(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int{
		"abc": 3, "日本": 4, "🙂": 2, "e\u0301": 1, "👍🏽": 2, "ｆｕｌｌ": 8, "": 0, "…": 1,
	} {
		require.Equal(t, want, cells(s), s)
	}
	require.Equal(t, "short", fit("short", 10))
	require.Equal(t, "abcdefghi…", fit("abcdefghijklmnop", 10))
	require.Equal(t, "日本語日…", fit("日本語日本語", 10), "a wide rune that would pass the limit is left out")
	require.Equal(t, 9, cells(fit("日本語日本語", 10)))
}

func TestListAlignsWideAndLongKeys(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("k", 200)
	var tb table
	tb.right = map[int]bool{1: true}
	tb.add("KEY", "SIZE")
	for _, k := range []string{"user:1", "ユーザー:1", "🙂🙂", long} {
		tb.add(fit(k, 20), "5 B")
	}
	var b strings.Builder
	require.NoError(t, tb.print(&b))
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, lines, 5)
	for _, l := range lines {
		require.Equal(t, 20+2+4, cells(l), "every line as wide: %q", l)
		require.True(t, strings.HasSuffix(l, "SIZE") || strings.HasSuffix(l, " 5 B"), l)
	}
	require.Equal(t, strings.Repeat("k", 19)+"…  "+" 5 B", lines[4])
}

func TestPlainDropsLibraryPrefixes(t *testing.T) {
	t.Parallel()
	lib := fmt.Errorf("cache: set %q: %w", "k", fmt.Errorf("%w: NaN", cache.ErrInvalidValue))
	err := plain(lib)
	require.EqualError(t, err, `set "k": invalid value: NaN`)
	require.ErrorIs(t, err, cache.ErrInvalidValue)
	require.EqualError(t, plain(fmt.Errorf("table %q does not exist (%w)", "t", lib)), `table "t" does not exist (set "k": invalid value: NaN)`)
	other := errors.New("open database: boom")
	require.Same(t, other, plain(other))
	require.NoError(t, plain(nil))
}
