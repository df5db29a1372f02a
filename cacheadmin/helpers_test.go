package cacheadmin

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// The expiries seed gives entries.
type expiry int

const (
	live expiry = iota
	expired
	forever
)

// seed sets the keys in order, so that later keys have higher IDs and list
// first.
func seed(t *testing.T, db *gorm.DB, e expiry, keys ...string) {
	t.Helper()
	for _, k := range keys {
		var exp []cache.Expiration
		switch e {
		case live:
			exp = append(exp, cache.In(time.Hour))
		case expired:
			exp = append(exp, cache.In(-time.Hour))
		}
		require.NoError(t, cache.Cached(db, k).Set(map[string]any{"key": k, "n": len(k)}, exp...))
	}
}

// do runs one request through h and returns the response and its body.
func do(t *testing.T, h http.Handler, method, target string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func get(t *testing.T, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	return do(t, h, http.MethodGet, target, nil, nil)
}

// sameOrigin is what a browser sends with a form posted from the page.
var sameOrigin = http.Header{"Sec-Fetch-Site": {"same-origin"}}

func post(t *testing.T, h http.Handler, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	return do(t, h, http.MethodPost, target, form, sameOrigin)
}

var (
	keyCell = regexp.MustCompile(`<td class="key" data-label="Key"><a href="([^"]*)">([^<]*)</a>`)
	hrefs   = regexp.MustCompile(`(?:href|action)="([^"]*)"`)
	nextRe  = regexp.MustCompile(`<a href="([^"]*)" rel="next">`)
)

// listedKeys returns the keys of a list page, in order.
func listedKeys(body string) []string {
	keys := []string{}
	for _, m := range keyCell.FindAllStringSubmatch(body, -1) {
		keys = append(keys, html.UnescapeString(m[2]))
	}
	return keys
}

// nextURL returns the "Older" link of a list page, unescaped, or "".
func nextURL(body string) string {
	m := nextRe.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// resolve resolves a relative link of a page served at base.
func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	require.NoError(t, err)
	r, err := url.Parse(ref)
	require.NoError(t, err)
	return b.ResolveReference(r).String()
}
