package cachecli_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// rawControl reports whether out holds a control character that a
// terminal could act on: a C0 one other than line feed, or a C1 one.
func rawControl(out []byte) bool {
	for _, r := range string(out) {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) {
			return true
		}
	}
	return false
}

// TestTerminalSafeOutput: C1 controls (U+009B CSI, U+009D OSC) in keys and
// values are escaped in the output of get and list --json, as ESC is; the
// list shows a key holding ESC and a key whose text spells \x1b
// differently.
func TestTerminalSafeOutput(t *testing.T) {
	t.Parallel()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			a := newApp(func() (*gorm.DB, error) { return b.DB, nil })
			ctx := t.Context()
			keys := []string{"csi\u009b31m", "osc\u009d0;title\u0007", "esc\x1b[31m", `esc\x1b[31m`}
			for _, k := range keys {
				require.NoError(t, cache.Cached(b.DB, k).Set(map[string]string{"v": "\u009b2J\u009d8;;x\u001b[0m" + k}))
			}
			for _, k := range keys {
				for _, args := range [][]string{{"get", "--", k}, {"get", "--json", "--", k}} {
					require.NoError(t, a.exec(ctx, append([]string{"cache"}, args...)...))
					require.False(t, rawControl(a.out.Bytes()), "%q printed %q", args, a.out.String())
					var v map[string]string
					require.NoError(t, json.Unmarshal(a.out.Bytes(), &v))
					require.Equal(t, "\u009b2J\u009d8;;x\u001b[0m"+k, v["v"], "the same value, escaped")
				}
			}
			require.NoError(t, a.exec(ctx, "cache", "list", "--json"))
			require.False(t, rawControl(a.out.Bytes()), "list --json printed %q", a.out.String())
			var rows []struct{ Key string }
			require.NoError(t, json.Unmarshal(a.out.Bytes(), &rows))
			require.Len(t, rows, len(keys))

			require.NoError(t, a.exec(ctx, "cache", "list"))
			out := a.out.Bytes()
			require.False(t, rawControl(out), "list printed %q", out)
			lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))[1:]
			require.Len(t, lines, len(keys))
			seen := map[string]bool{}
			for _, l := range lines {
				key := string(bytes.Fields(l)[0])
				require.False(t, seen[key], "two keys print as %s", key)
				seen[key] = true
			}
			require.True(t, seen[`"esc\x1b[31m"`], "%s", out)
			require.True(t, seen[`"esc\\x1b[31m"`], "%s", out)
		})
	}
}
