package cachecli_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// cliInjections are keys, prefixes and values that would change a query
// built from them as text, or a terminal that printed them raw.
var cliInjections = append(slices.Clone(cachetest.SQLInjections),
	`') UNION SELECT 1, 1, 1 FROM canary --`,
	"\x1b[31mred\x1b[0m",
	"tab\there",
)

// TestSecurityInjection runs set, get, list --prefix and delete with keys,
// prefixes and values that look like SQL or terminal escapes: each key is
// stored and read back as the literal string it is, a prefix matches
// exactly the keys that start with it, delete removes that one key, text
// output never carries a raw escape character, a value that is not JSON is
// refused with nothing written, and a canary table is untouched.
func TestSecurityInjection(t *testing.T) {
	t.Parallel()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, b.DB.Exec(`CREATE TABLE canary (id integer)`).Error)
			require.NoError(t, b.DB.Exec(`INSERT INTO canary (id) VALUES (1)`).Error)
			a := newApp(func() (*gorm.DB, error) { return b.DB, nil })
			ctx := t.Context()

			keys := []string{"plain", "k:", "--flag-like"}
			for _, s := range cliInjections {
				keys = append(keys, "k:"+s)
			}
			for _, k := range keys {
				v, err := json.Marshal(k)
				require.NoError(t, err)
				require.NoError(t, a.exec(ctx, "cache", "set", "--", k, string(v)), "set %q", k)
				require.NoError(t, a.exec(ctx, "cache", "get", "--json", "--", k), "get %q", k)
				var got string
				require.NoError(t, json.Unmarshal(a.out.Bytes(), &got), "get %q: %q", k, a.out.String())
				require.Equal(t, k, got)
			}

			for _, s := range append([]string{"k:"}, cliInjections...) {
				for _, p := range []string{s, "k:" + s} {
					require.NoError(t, a.exec(ctx, "cache", "list", "--json", "--prefix", p), "list --prefix %q", p)
					var rows []struct{ Key string }
					require.NoError(t, json.Unmarshal(a.out.Bytes(), &rows))
					var got, want []string
					for _, r := range rows {
						got = append(got, r.Key)
					}
					for _, k := range keys {
						if strings.HasPrefix(k, p) {
							want = append(want, k)
						}
					}
					slices.Sort(got)
					slices.Sort(want)
					require.Equal(t, want, got, "list --prefix %q", p)
				}
			}
			require.NoError(t, a.exec(ctx, "cache", "list"))
			require.NotContains(t, a.out.String(), "\x1b", "list printed a raw escape character")

			for _, bad := range []string{`1); DROP TABLE canary; --`, `'x'`, `{"a":1} OR 1=1`, ``} {
				err := a.exec(ctx, "cache", "set", "bad", bad)
				require.Error(t, err, "set %q", bad)
			}
			ok, err := cache.Cached(b.DB, "bad").Exists()
			require.NoError(t, err)
			require.False(t, ok, "an invalid value was written")

			for _, s := range cliInjections {
				require.NoError(t, a.exec(ctx, "cache", "delete", "--", "k:"+s), "delete %q", s)
			}
			st, err := cache.Stats(b.DB)
			require.NoError(t, err)
			require.EqualValues(t, 3, st.Total, "deleting injection keys deleted other entries")
			var rows int64
			require.NoError(t, b.DB.Raw(`SELECT count(*) FROM canary`).Scan(&rows).Error)
			require.EqualValues(t, 1, rows, "the canary table changed")
		})
	}
}
