package cacheadmin

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// forEachBackend runs fn on SQLite and PostgreSQL, in parallel.
func forEachBackend(t *testing.T, fn func(t *testing.T, b cachetest.Backend)) {
	t.Helper()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		seed(t, b.DB, live, "k")
		open := Handler(b.DB, Options{Authorize: AllowAll})
		closed := Handler(b.DB, Options{})
		for _, tc := range []struct {
			name   string
			h      http.Handler
			method string
			target string
			header http.Header
			status int
		}{
			{"list", open, "GET", "/", nil, 200},
			{"entry", open, "GET", "/entry?key=k", nil, 200},
			{"raw", open, "GET", "/entry/raw?key=k", nil, 200},
			{"missing entry", open, "GET", "/entry?key=nope", nil, 404},
			{"css", open, "GET", "/static/admin.css", nil, 200},
			{"unknown path", open, "GET", "/nope", nil, 404},
			{"wrong method", open, "DELETE", "/delete", nil, 405},
			{"bad status", open, "GET", "/?status=stale", nil, 400},
			{"redirect", open, "POST", "/clear-expired", sameOrigin, 303},
			{"cross-origin", open, "POST", "/clear-expired", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
			{"unauthorized", closed, "GET", "/", nil, 403},
		} {
			res, _ := do(t, tc.h, tc.method, tc.target, url.Values{}, tc.header)
			require.Equal(t, tc.status, res.StatusCode, tc.name)
			require.Equal(t, "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'", res.Header.Get("Content-Security-Policy"), tc.name)
			require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), tc.name)
			require.Equal(t, "same-origin", res.Header.Get("Referrer-Policy"), tc.name)
		}
	})
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		seed(t, b.DB, live, "k")
		deny := func(*http.Request) bool { return false }
		for name, h := range map[string]http.Handler{
			"no Authorize": Handler(b.DB, Options{}),
			"denied":       Handler(b.DB, Options{Authorize: deny}),
		} {
			for _, target := range []string{"/", "/entry?key=k", "/entry/raw?key=k", "/static/admin.css", "/clear-all"} {
				res, body := get(t, h, target)
				require.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s", name, target)
				require.NotContains(t, body, `"key"`, "%s %s", name, target)
			}
			for _, target := range []string{"/delete", "/clear-expired", "/clear-all"} {
				res, _ := post(t, h, target, url.Values{"key": {"k"}, "confirm": {"yes"}})
				require.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s", name, target)
			}
			ok, err := cache.Cached(b.DB, "k").Exists()
			require.NoError(t, err)
			require.True(t, ok, "a refused request deleted the entry")
		}

		// Authorize sees the request.
		h := Handler(b.DB, Options{Authorize: func(r *http.Request) bool { return r.Header.Get("X-Admin") == "yes" }})
		res, _ := do(t, h, "GET", "/", nil, http.Header{"X-Admin": {"yes"}})
		require.Equal(t, http.StatusOK, res.StatusCode)
		res, _ = get(t, h, "/")
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		res, _ = get(t, Handler(b.DB, Options{Authorize: AllowAll}), "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
	})
}

func TestListAndStatusFilters(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		seed(t, b.DB, live, "live-1")
		seed(t, b.DB, expired, "expired-1")
		seed(t, b.DB, forever, "forever-1")
		seed(t, b.DB, live, "live-2")
		seed(t, b.DB, expired, "expired-2")
		h := Handler(b.DB, Options{Authorize: AllowAll})

		for _, tc := range []struct {
			query string
			keys  []string
		}{
			{"", []string{"expired-2", "live-2", "forever-1", "expired-1", "live-1"}},
			{"?status=all", []string{"expired-2", "live-2", "forever-1", "expired-1", "live-1"}},
			{"?status=live", []string{"live-2", "forever-1", "live-1"}}, // what reads see
			{"?status=unexpired", []string{"live-2", "live-1"}},
			{"?status=expired", []string{"expired-2", "expired-1"}},
			{"?status=forever", []string{"forever-1"}},
		} {
			res, body := get(t, h, "/"+tc.query)
			require.Equal(t, http.StatusOK, res.StatusCode, tc.query)
			require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
			require.Equal(t, tc.keys, listedKeys(body), tc.query)
		}

		_, body := get(t, h, "/")
		// Totals from Stats, as the tabs show them.
		for _, want := range []string{
			`<span class="count">5</span> <span class="label">All</span>`,
			`<span class="count">3</span> <span class="label">Live</span>`,
			`<span class="count">2</span> <span class="label">Unexpired</span>`,
			`<span class="count">2</span> <span class="label">Expired</span>`,
			`<span class="count">1</span> <span class="label">Forever</span>`,
			`<span class="badge badge-unexpired">unexpired</span>`,
			`<span class="badge badge-expired">expired</span>`,
			`<span class="badge badge-forever">forever</span>`,
			`<span class="muted">never</span>`, // forever-1's expiry
			">in 59m<",                         // live-2 expires in an hour
			">1h ago<",                         // expired-2 expired an hour ago
			"UTC</span>",                       // absolute times
			`Clear expired (2)`,
		} {
			require.Contains(t, body, want)
		}
		require.Regexp(t, `<td class="num" data-label="Size">\d+ B</td>`, body)
		// Total bytes from Measure, beside the counts.
		m, err := cache.Measure(b.DB)
		require.NoError(t, err)
		require.Positive(t, m.ValueBytes)
		require.Contains(t, body, `Values: <span class="bytes">`+humanSize(m.ValueBytes)+`</span>`)
		if m.DiskBytes >= 0 {
			require.Contains(t, body, ` · disk (`+m.DiskOf+`): <span class="bytes">`)
		}

		_, body = get(t, h, "/?status=expired")
		require.Contains(t, body, `class="tab tab-expired" href="./?status=expired" aria-current="page"`)

		res, body := get(t, h, "/?status=stale")
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		require.Contains(t, body, "Unknown status")

		_, err = cache.Clear(b.DB)
		require.NoError(t, err)
		_, body = get(t, h, "/")
		require.Contains(t, body, "The cache is empty.")
		require.Contains(t, body, `Values: <span class="bytes">0 B</span>`)
		_, body = get(t, h, "/?status=live")
		require.Contains(t, body, "No live entries.")
	})
}

func TestSearch(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		seed(t, b.DB, live, "100%", "100x", "a_b", "axb", `back\slash`, "backxslash", "User:42:Profile")
		seed(t, b.DB, expired, "user:43:profile")
		h := Handler(b.DB, Options{Authorize: AllowAll})
		for _, tc := range []struct {
			query string
			keys  []string
		}{
			{"q=%25", []string{"100%"}},
			{"q=0%25", []string{"100%"}},
			{"q=_", []string{"a_b"}},
			{"q=a_b", []string{"a_b"}},
			{"q=" + url.QueryEscape(`\`), []string{`back\slash`}},
			{"q=" + url.QueryEscape(`k\s`), []string{`back\slash`}},
			{"q=" + url.QueryEscape(`\\`), []string{}},
			{"q=100", []string{"100x", "100%"}},
			{"q=profile", []string{"user:43:profile", "User:42:Profile"}}, // ASCII case ignored
			{"q=PROFILE&status=expired", []string{"user:43:profile"}},
			{"q=profile&status=live", []string{"User:42:Profile"}},
			{"q=profile&status=forever", []string{}},
			{"q=nothing", []string{}},
			{"q=%FF", []string{}},   // invalid UTF-8: no key can match
			{"q=a%00b", []string{}}, // NUL: no key can match
		} {
			res, body := get(t, h, "/?"+tc.query)
			require.Equal(t, http.StatusOK, res.StatusCode, tc.query)
			require.Equal(t, tc.keys, listedKeys(body), tc.query)
		}
		_, body := get(t, h, "/?q=nothing&status=live")
		require.Contains(t, body, "No keys contain “nothing” among live entries.")
		require.Contains(t, body, `<input type="hidden" name="status" value="live">`)
		require.Contains(t, body, `name="q" value="nothing"`)
		// The tabs keep the search; "Clear search" keeps the filter.
		require.Contains(t, body, `href="./?q=nothing&amp;status=expired"`)
		require.Contains(t, body, `<a class="clear-search" href="./?status=live">`)
	})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		for i := 1; i <= 7; i++ {
			seed(t, b.DB, live, fmt.Sprintf("k%d", i))
		}
		seed(t, b.DB, expired, "x1", "x2", "x3")
		h := Handler(b.DB, Options{Authorize: AllowAll, PageSize: 3})

		// Follow the "Older" links to the end.
		walk := func(start string) [][]string {
			var pages [][]string
			target := start
			for target != "" {
				res, body := get(t, h, target)
				require.Equal(t, http.StatusOK, res.StatusCode, target)
				pages = append(pages, listedKeys(body))
				if len(pages) > 1 {
					require.Contains(t, body, "← Newest")
				} else {
					require.NotContains(t, body, "← Newest")
				}
				next := nextURL(body)
				if next != "" {
					require.True(t, strings.HasPrefix(next, "./?"), next)
					next = resolve(t, "http://x/", next)[len("http://x"):]
				}
				target = next
				require.Less(t, len(pages), 10, "no end")
			}
			return pages
		}
		require.Equal(t, [][]string{{"x3", "x2", "x1"}, {"k7", "k6", "k5"}, {"k4", "k3", "k2"}, {"k1"}}, walk("/"))
		// A filter is kept across pages; a last page that is exactly full
		// has no "Older" link.
		require.Equal(t, [][]string{{"k7", "k6", "k5"}, {"k4", "k3", "k2"}, {"k1"}}, walk("/?status=live"))
		require.Equal(t, [][]string{{"x3", "x2", "x1"}}, walk("/?status=expired"))
		require.Equal(t, [][]string{{"k7", "k6", "k5"}, {"k4", "k3", "k2"}, {"k1"}}, walk("/?q=k&status=live"))

		_, body := get(t, h, "/?status=live")
		require.Contains(t, body, `rel="next"`)
		require.Regexp(t, `href="\./\?after=\d+&amp;status=live" rel="next"`, body)

		// The cursor is an ID: entries below it, however the IDs run.
		var maxID int64
		require.NoError(t, b.DB.Model(&cache.CachedItem{}).Select("MAX(id)").Scan(&maxID).Error)
		_, body = get(t, h, "/?after="+strconv.FormatInt(maxID+100, 10))
		require.Equal(t, []string{"x3", "x2", "x1"}, listedKeys(body))
		_, body = get(t, h, "/?after=1")
		require.Equal(t, []string{}, listedKeys(body))
		require.Contains(t, body, "The cache is empty.") // nothing older
		require.Contains(t, body, "← Newest")

		for _, bad := range []string{"abc", "0", "-5", "1.5", "99999999999999999999"} {
			res, body := get(t, h, "/?after="+bad)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, bad)
			require.Contains(t, body, "Bad cursor")
		}
	})
}

func TestEntryPage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		require.NoError(t, cache.Cached(b.DB, "user:1").Set(map[string]any{"name": "Ann", "tags": []string{"a", "b"}}, cache.In(5*time.Minute)))
		require.NoError(t, cache.Cached(b.DB, "old").Set(42, cache.In(-3*time.Hour)))
		require.NoError(t, cache.Cached(b.DB, "k y&z").Set("v"))
		h := Handler(b.DB, Options{Authorize: AllowAll})

		res, body := get(t, h, "/entry?key=user%3A1")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, `<h1 class="entry-key">user:1</h1>`)
		require.Contains(t, body, `<span class="badge badge-unexpired">unexpired</span>`)
		require.Contains(t, body, "(in 4m)")
		require.Contains(t, body, "  &#34;name&#34;: &#34;Ann&#34;") // pretty-printed
		require.Contains(t, body, `href="entry/raw?key=user%3A1" download`)
		require.Contains(t, body, `<form class="danger-zone" method="post" action="delete">`)
		require.Contains(t, body, `<input type="hidden" name="key" value="user:1">`)
		require.NotContains(t, body, "too large")

		_, body = get(t, h, "/entry?key=old")
		require.Contains(t, body, `<span class="badge badge-expired">expired</span>`)
		require.Contains(t, body, "(3h ago)")
		require.Contains(t, body, "<code>42</code>")

		_, body = get(t, h, "/entry?key="+url.QueryEscape("k y&z"))
		require.Contains(t, body, `<span class="badge badge-forever">forever</span>`)
		require.Contains(t, body, `href="entry/raw?key=k&#43;y%26z"`)

		res, body = get(t, h, "/entry?key=nope")
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		require.Contains(t, body, `No entry under key &#34;nope&#34;`)
		res, _ = get(t, h, "/entry")
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		res, _ = get(t, h, "/entry?key=%FF")
		require.Equal(t, http.StatusNotFound, res.StatusCode)

		// Raw JSON: the stored value, as a download.
		res, body = get(t, h, "/entry/raw?key=user%3A1")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "application/json", res.Header.Get("Content-Type"))
		require.Regexp(t, `^attachment; filename=cache-entry-\d+\.json$`, res.Header.Get("Content-Disposition"))
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		require.Equal(t, "Ann", v["name"])
		res, body = get(t, h, "/entry/raw?key=nope")
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain"), "raw errors are plain text")
		require.Contains(t, body, "No entry")
	})
}

func TestEntryPageTruncatesLargeValues(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		big := make([]string, 20000) // ~ 200 kB pretty-printed
		for i := range big {
			big[i] = fmt.Sprintf("item é %05d", i)
		}
		require.NoError(t, cache.Cached(b.DB, "big").Set(big))
		h := Handler(b.DB, Options{Authorize: AllowAll})
		res, body := get(t, h, "/entry?key=big")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, "The value is too large to show in full")
		require.Contains(t, body, "item é 00000")
		require.NotContains(t, body, "item é 19999")
		require.Less(t, len(body), 2*maxShownValue)

		_, raw := get(t, h, "/entry/raw?key=big")
		var got []string
		require.NoError(t, json.Unmarshal([]byte(raw), &got))
		require.Equal(t, big, got)
	})
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		const key = `<script>alert(1)</script>`
		// json.Marshal would store "\u003cscript\u003e"; store the characters.
		require.NoError(t, b.DB.Create(&cache.CachedItem{Key: key, Value: cache.JSON(`"<script>alert(2)</script>\"'&"`)}).Error)
		require.NoError(t, cache.Cached(b.DB, `"><img src=x onerror=alert(3)>`).Set(1))
		h := Handler(b.DB, Options{Authorize: AllowAll})

		check := func(body string) {
			t.Helper()
			require.NotContains(t, body, "<script")
			require.NotContains(t, body, "<img")
		}
		_, body := get(t, h, "/")
		check(body)
		require.Contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
		require.Contains(t, listedKeys(body), key)

		_, body = get(t, h, "/entry?key="+url.QueryEscape(key))
		check(body)
		require.Contains(t, body, `<h1 class="entry-key">&lt;script&gt;alert(1)&lt;/script&gt;</h1>`)
		require.Contains(t, body, `&lt;script&gt;alert(2)&lt;/script&gt;`)

		_, body = get(t, h, "/?q="+url.QueryEscape(`"><img src=x>`))
		check(body)

		// The flash message of a delete names the key.
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		c := browserlikeClient(t)
		res, err := c.PostForm(srv.URL+"/delete", url.Values{"key": {key}})
		require.NoError(t, err)
		page := readBody(t, res)
		check(page)
		require.Contains(t, page, `Deleted &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;.`)
	})
}

// browserlikeClient keeps cookies and follows redirects, as a browser does.
func browserlikeClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

// mounted serves h under /admin/cache/ of a test server, as the docs say.
func mounted(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/admin/cache/", http.StripPrefix("/admin/cache", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestDeleteWithFlash(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		seed(t, b.DB, live, "a", "b")
		srv := mounted(t, Handler(b.DB, Options{Authorize: AllowAll}))
		c := browserlikeClient(t)
		base := srv.URL + "/admin/cache/"

		// The redirect is relative: it keeps the prefix.
		res, _ := post(t, Handler(b.DB, Options{Authorize: AllowAll}), "/delete", url.Values{"key": {"nope"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.Equal(t, "./", res.Header.Get("Location"))

		res, err := c.PostForm(base+"delete", url.Values{"key": {"a"}})
		require.NoError(t, err)
		body := readBody(t, res)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, base, res.Request.URL.String())
		require.Contains(t, body, `<p class="flash flash-ok" role="status">Deleted &#34;a&#34;.</p>`)
		require.Equal(t, []string{"b"}, listedKeys(body))

		// The flash shows once.
		res, err = c.Get(base)
		require.NoError(t, err)
		require.NotContains(t, readBody(t, res), "flash")

		res, err = c.PostForm(base+"delete", url.Values{"key": {"a"}})
		require.NoError(t, err)
		require.Contains(t, readBody(t, res), `<p class="flash flash-error" role="status">No entry under key &#34;a&#34;: it was already gone.</p>`)

		res, err = c.PostForm(base+"delete", url.Values{"key": {""}})
		require.NoError(t, err)
		require.Contains(t, readBody(t, res), `is not a valid key`)
	})
}

func TestClearExpired(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		seed(t, b.DB, expired, "old-1", "old-2")
		seed(t, b.DB, live, "fresh")
		seed(t, b.DB, forever, "always")
		srv := mounted(t, Handler(b.DB, Options{Authorize: AllowAll}))
		c := browserlikeClient(t)

		res, err := c.PostForm(srv.URL+"/admin/cache/clear-expired", url.Values{"status": {"live"}, "q": {"fr"}})
		require.NoError(t, err)
		body := readBody(t, res)
		require.Equal(t, "/admin/cache/?q=fr&status=live", res.Request.URL.RequestURI(), "back to the same list")
		require.Contains(t, body, "Cleared 2 expired entries.")
		require.Equal(t, []string{"fresh"}, listedKeys(body))
		st, err := cache.Stats(b.DB)
		require.NoError(t, err)
		require.Equal(t, cache.Statistics{Total: 2, Live: 2, Unexpired: 1, Forever: 1}, st)

		res, err = c.PostForm(srv.URL+"/admin/cache/clear-expired", url.Values{"status": {"bogus"}})
		require.NoError(t, err)
		require.Contains(t, readBody(t, res), "Cleared 0 expired entries.")
		require.Equal(t, "/admin/cache/", res.Request.URL.RequestURI())
	})
}

func TestClearAllNeedsConfirmation(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		seed(t, b.DB, live, "a", "b")
		seed(t, b.DB, expired, "c")
		h := Handler(b.DB, Options{Authorize: AllowAll})

		res, _ := post(t, h, "/clear-all", url.Values{})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.Equal(t, "clear-all", res.Header.Get("Location"))
		res, _ = post(t, h, "/clear-all", url.Values{"confirm": {"true"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.Equal(t, "clear-all", res.Header.Get("Location"))
		st, err := cache.Stats(b.DB)
		require.NoError(t, err)
		require.EqualValues(t, 3, st.Total, "cleared without confirm=yes")

		res, body := get(t, h, "/clear-all")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, "This deletes all 3 entries")
		require.Contains(t, body, `<form method="post" action="clear-all">`)
		require.Contains(t, body, `<input type="hidden" name="confirm" value="yes">`)

		srv := mounted(t, h)
		c := browserlikeClient(t)
		res, err = c.PostForm(srv.URL+"/admin/cache/clear-all", url.Values{"confirm": {"yes"}})
		require.NoError(t, err)
		body = readBody(t, res)
		require.Contains(t, body, "Cleared all 3 entries.")
		require.Contains(t, body, "The cache is empty.")
	})
}

func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		seed(t, b.DB, live, "k")
		seed(t, b.DB, expired, "x")
		h := Handler(b.DB, Options{Authorize: AllowAll})
		for _, hdr := range []http.Header{
			{"Sec-Fetch-Site": {"cross-site"}},
			{"Sec-Fetch-Site": {"same-site"}},
			{"Origin": {"https://evil.example"}}, // older browsers: Origin vs Host
		} {
			for _, target := range []string{"/delete", "/clear-expired", "/clear-all"} {
				res, body := do(t, h, http.MethodPost, target, url.Values{"key": {"k"}, "confirm": {"yes"}}, hdr)
				require.Equal(t, http.StatusForbidden, res.StatusCode, "%v %s", hdr, target)
				require.Contains(t, body, "Cross-origin request refused")
			}
		}
		st, err := cache.Stats(b.DB)
		require.NoError(t, err)
		require.EqualValues(t, 2, st.Total, "a cross-origin request changed the cache")

		// Same origin, and non-browser clients (no headers), may write.
		res, _ := do(t, h, http.MethodPost, "/delete", url.Values{"key": {"k"}}, http.Header{"Origin": {"http://example.com"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode) // httptest's Host is example.com
		res, _ = do(t, h, http.MethodPost, "/clear-expired", url.Values{}, nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		// GET never writes.
		res, _ = get(t, h, "/delete?key=x")
		require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	})
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		seed(t, b.DB, live, "k")
		seed(t, b.DB, expired, "x")
		h := Handler(b.DB, Options{Authorize: AllowAll, ReadOnly: true})

		_, body := get(t, h, "/")
		require.Contains(t, body, ">read-only</span>")
		require.Equal(t, []string{"x", "k"}, listedKeys(body))
		require.NotContains(t, body, `method="post"`)
		require.NotContains(t, body, "Clear expired")
		require.NotContains(t, body, "Clear all")
		_, body = get(t, h, "/entry?key=k")
		require.NotContains(t, body, `method="post"`)
		require.NotContains(t, body, "Delete this entry")
		res, _ := get(t, h, "/entry/raw?key=k")
		require.Equal(t, http.StatusOK, res.StatusCode)
		res, _ = get(t, h, "/clear-all")
		require.Equal(t, http.StatusForbidden, res.StatusCode)

		for _, target := range []string{"/delete", "/clear-expired", "/clear-all"} {
			res, body := post(t, h, target, url.Values{"key": {"k"}, "confirm": {"yes"}})
			require.Equal(t, http.StatusForbidden, res.StatusCode, target)
			require.Contains(t, body, "read-only")
		}
		st, err := cache.Stats(b.DB)
		require.NoError(t, err)
		require.EqualValues(t, 2, st.Total)
	})
}

// TestLinksWorkUnderAnyPrefix follows every link and form of the pages,
// mounted at the root and under prefixes, and expects each to resolve to a
// route of the handler.
func TestLinksWorkUnderAnyPrefix(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b cachetest.Backend) {
		seed(t, b.DB, live, "a/b?c=d&e", "plain")
		seed(t, b.DB, expired, "gone")
		h := Handler(b.DB, Options{Authorize: AllowAll, PageSize: 2})
		for _, mount := range []struct{ pattern, strip string }{
			{"/", ""},
			{"/admin/cache/", "/admin/cache"},
			{"/admin/cache/", "/admin/cache/"},
			{"/x/y/z/", "/x/y/z"},
		} {
			mux := http.NewServeMux()
			mux.Handle(mount.pattern, http.StripPrefix(mount.strip, h))
			outside := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("mount %s: link left the mount point: %s", mount.pattern, r.URL)
				http.NotFound(w, r)
			})
			if mount.pattern != "/" {
				mux.Handle("/", outside)
			}
			srv := httptest.NewServer(mux)
			base := srv.URL + mount.pattern
			pages := []string{base, base + "?status=expired&q=o", base + "entry?key=" + url.QueryEscape("a/b?c=d&e"), base + "clear-all"}
			seen := map[string]bool{}
			for _, page := range pages {
				res, err := http.Get(page)
				require.NoError(t, err)
				body := readBody(t, res)
				require.Equal(t, http.StatusOK, res.StatusCode, page)
				for _, m := range hrefs.FindAllStringSubmatch(body, -1) {
					ref := html.UnescapeString(m[1])
					require.False(t, strings.HasPrefix(ref, "/"), "absolute link %q on %s", ref, page)
					require.False(t, strings.Contains(ref, "://"), "absolute link %q on %s", ref, page)
					target := resolve(t, page, ref)
					require.True(t, strings.HasPrefix(target, base), "%q on %s resolves to %s", ref, page, target)
					if seen[target] {
						continue
					}
					seen[target] = true
					res, err := http.Get(target)
					require.NoError(t, err)
					_ = readBody(t, res)
					// Forms' POST routes answer GET with 405; all else 200.
					switch strings.TrimPrefix(strings.SplitN(target, "?", 2)[0], base) {
					case "delete", "clear-expired":
						require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, target)
					default:
						require.Equal(t, http.StatusOK, res.StatusCode, "%q on %s", ref, page)
					}
				}
			}
			require.True(t, seen[base+"static/admin.css"], "stylesheet linked")
			require.True(t, seen[base+"entry?key=plain"], "entry linked")
			srv.Close()
		}
	})
}

func TestNoInlineScriptOrStyle(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	seed(t, b.DB, live, "k")
	h := Handler(b.DB, Options{Authorize: AllowAll})
	for _, target := range []string{"/", "/entry?key=k", "/clear-all", "/entry?key=nope", "/?status=bad"} {
		_, body := get(t, h, target)
		require.True(t, strings.HasPrefix(body, "<!doctype html>"), target)
		for _, bad := range []string{"<script", "<style", "style=", "javascript:", " on", "http://", "https://"} {
			require.NotContains(t, strings.ToLower(body), bad, target)
		}
	}
	res, css := get(t, h, "/static/admin.css")
	require.Equal(t, "text/css; charset=utf-8", res.Header.Get("Content-Type"))
	require.NotContains(t, css, "url(", "the stylesheet loads nothing else")
	res, _ = get(t, h, "/static/favicon.svg")
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = get(t, h, "/static/")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = get(t, h, "/static/nope.css")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestOptionsDefaults(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	for i := range 60 {
		seed(t, b.DB, live, fmt.Sprintf("k%02d", i))
	}
	_, body := get(t, Handler(b.DB, Options{Authorize: AllowAll}), "/")
	require.Len(t, listedKeys(body), defaultPageSize)
	require.Contains(t, body, "<title>Cache</title>")
	require.Contains(t, body, `<a class="brand" href="./">Cache</a>`)

	_, body = get(t, Handler(b.DB, Options{Authorize: AllowAll, PageSize: -1, Title: "Shop <cache>"}), "/?q=k0")
	require.Len(t, listedKeys(body), 10)
	require.Contains(t, body, "<title>Search &#34;k0&#34; · Shop &lt;cache&gt;</title>")

	s, err := newServer(b.DB, Options{PageSize: 5000}, time.Now)
	require.NoError(t, err)
	require.Equal(t, maxPageSize, s.opts.PageSize)
}
