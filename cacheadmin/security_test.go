package cacheadmin

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// adminInjections are search texts and keys that would change a query
// built from them as text, or a page that did not escape them.
var adminInjections = append(slices.Clone(cachetest.SQLInjections),
	`\%`,
	`%' ESCAPE '`,
	`') UNION SELECT id, id, id, id, id, id FROM canary --`,
	`"><script>alert(1)</script>`,
	`{{.}}`,
	`K`, // case-insensitive search
)

// TestSecuritySearchAndKeyInjection searches for every injection string,
// on every status filter, with the keys themselves holding injection
// strings: each search lists exactly the keys that contain the text
// (case-insensitively, %, _ and \ taken literally), the entry page and
// delete route treat those keys as plain keys, nothing is rendered
// unescaped, and a canary table is untouched.
func TestSecuritySearchAndKeyInjection(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		require.NoError(t, b.DB.Exec(`CREATE TABLE canary (id integer)`).Error)
		require.NoError(t, b.DB.Exec(`INSERT INTO canary (id) VALUES (1)`).Error)
		keys := []string{"plain", "key", "100%", "a_b", `back\slash`}
		for _, s := range adminInjections {
			keys = append(keys, "k:"+s)
		}
		seed(t, b.DB, live, keys...)
		h := Handler(b.DB, Options{Authorize: AllowAll, PageSize: 1000})

		for _, s := range adminInjections {
			var want []string
			for _, k := range keys {
				if strings.Contains(strings.ToLower(k), strings.ToLower(s)) {
					want = append(want, k)
				}
			}
			for _, status := range []string{"", "live", "expired"} {
				res, body := get(t, h, "/?"+url.Values{"q": {s}, "status": {status}}.Encode())
				require.Equal(t, http.StatusOK, res.StatusCode, "search %q: %s", s, body)
				got := listedKeys(body)
				if status == "expired" {
					require.Empty(t, got, "search %q", s)
					continue
				}
				slices.Sort(got)
				w := slices.Clone(want)
				slices.Sort(w)
				require.Equal(t, w, got, "search %q", s)
				require.NotContains(t, body, "<script>alert(1)", "search %q rendered a script", s)
			}

			k := "k:" + s
			res, body := get(t, h, "/entry?"+url.Values{"key": {k}}.Encode())
			require.Equal(t, http.StatusOK, res.StatusCode, "entry %q", k)
			require.NotContains(t, body, "<script>alert(1)")
			res, body = get(t, h, "/entry/raw?"+url.Values{"key": {k}}.Encode())
			require.Equal(t, http.StatusOK, res.StatusCode, "raw %q", k)
			require.NotContains(t, res.Header.Get("Content-Type"), "html", "raw %q", k)
			require.Contains(t, body, `"n"`)
		}

		// Deleting an injection key deletes that key and nothing else.
		for _, s := range adminInjections {
			res, _ := post(t, h, "/delete", url.Values{"key": {"k:" + s}})
			require.Equal(t, http.StatusSeeOther, res.StatusCode, "delete %q", s)
		}
		st, err := cache.Stats(b.DB)
		require.NoError(t, err)
		require.EqualValues(t, 5, st.Total, "deleting injection keys deleted other entries")
		var rows int64
		require.NoError(t, b.DB.Raw(`SELECT count(*) FROM canary`).Scan(&rows).Error)
		require.EqualValues(t, 1, rows, "the canary table changed")
	})
}

// TestSecurityUnauthorizedSeesNothing sends every route, with searches and
// keys that match a secret entry, to a handler that denies the request:
// each gets 403 and the body holds neither the secret key nor its value,
// and no write happens.
func TestSecurityUnauthorizedSeesNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		const secretKey, secretValue = "session:alice", "s3cr3t-t0ken-value"
		require.NoError(t, cache.Cached(b.DB, secretKey).Set(secretValue))
		seed(t, b.DB, expired, "old")
		for name, h := range map[string]http.Handler{
			"no Authorize": Handler(b.DB, Options{}),
			"denied":       Handler(b.DB, Options{Authorize: func(*http.Request) bool { return false }}),
		} {
			for _, target := range []string{
				"/", "/?q=alice", "/?q=s3cr3t", "/?status=live&q=session",
				"/entry?key=" + url.QueryEscape(secretKey), "/entry/raw?key=" + url.QueryEscape(secretKey),
				"/clear-all", "/static/admin.css", "/nope",
			} {
				for _, method := range []string{http.MethodGet, http.MethodHead} {
					res, body := do(t, h, method, target, nil, nil)
					require.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s %s", name, method, target)
					require.NotContains(t, body, "alice", "%s %s", name, target)
					require.NotContains(t, body, secretValue, "%s %s", name, target)
					require.Equal(t, "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'", res.Header.Get("Content-Security-Policy"))
					require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
				}
			}
			for _, target := range []string{"/delete", "/clear-expired", "/clear-all"} {
				for _, hdr := range []http.Header{sameOrigin, nil} {
					res, body := do(t, h, http.MethodPost, target, url.Values{"key": {secretKey}, "confirm": {"yes"}}, hdr)
					require.Equal(t, http.StatusForbidden, res.StatusCode, "%s POST %s", name, target)
					require.NotContains(t, body, secretValue)
				}
			}
		}
		st, err := cache.Stats(b.DB)
		require.NoError(t, err)
		require.Equal(t, cache.Statistics{Total: 2, Live: 1, Expired: 1, Forever: 1}, st, "an unauthorized request wrote")
	})
}
