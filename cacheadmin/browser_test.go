package cacheadmin

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// updateDocs makes TestBrowserScreenshots write the README's screenshot,
// docs/admin.png: go test ./cacheadmin -run TestBrowserScreenshots -update-docs
var updateDocs = flag.Bool("update-docs", false, "write the screenshots under docs/")

// chromiumPath finds Debian's chromium. Under CI=true a missing browser
// fails the test; elsewhere the test is skipped with a message.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "chromium not found: install Debian's chromium package (apt-get install chromium) to run the browser tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless chromium with a fresh profile and returns a
// context of it, from which each test opens tabs with chromedp.NewContext.
// The browser stops when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser to exit, before TempDir goes
	})
	// The first Do starts the browser, for the lifetime of ctx: no timeout
	// on this one (chromedp.Run's doc).
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// newTab opens a new tab of the browser, closed when the test ends; every
// action on it must finish within a minute.
func newTab(t *testing.T, browserCtx context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx), "open a tab")
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

// value runs an action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err, what)
	return v
}

// steps runs actions in order.
func steps(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, steps...), what)
}

// shot saves a full-page PNG screenshot.
func shot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png := value(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

// keysShown reads the keys of the list page, as text.
func keysShown(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return value(t, ctx, "read keys", chromedp.Evaluate[[]string](`[...document.querySelectorAll('td.key a')].map(a => a.textContent)`))
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { // one tab after the other
			browse(t, newTab(t, ctx), b)
		})
	}
}

func browse(t *testing.T, ctx context.Context, b cachetest.Backend) {
	db := b.DB
	seed(t, db, live, "user:1:profile", "user:2:profile", "session:abc")
	seed(t, db, expired, "rate:10.0.0.1", "rate:10.0.0.2")
	seed(t, db, forever, "config:flags", "<script>alert(1)</script>")
	srv := mounted(t, Handler(db, Options{Authorize: AllowAll, Title: "Test cache"}))
	base := srv.URL + "/admin/cache/"
	type css = chromedp.CSS

	// The list, styled by the embedded stylesheet despite the CSP.
	steps(t, ctx, "open the list", chromedp.Navigate(base), chromedp.WaitVisible(css(`table.entries`)))
	require.Equal(t, []string{"<script>alert(1)</script>", "config:flags", "rate:10.0.0.2", "rate:10.0.0.1", "session:abc", "user:2:profile", "user:1:profile"},
		keysShown(t, ctx), "keys shown as text, newest first")
	color := value(t, ctx, "badge color", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.badge-unexpired')).backgroundColor`))
	require.NotContains(t, []string{"", "rgba(0, 0, 0, 0)"}, color, "stylesheet not applied")
	require.Equal(t, "2", value(t, ctx, "expired count", chromedp.Text(css(`.tab-expired .count`))))
	shot(t, ctx, filepath.Join(t.TempDir(), "list.png"))

	steps(t, ctx, "search",
		chromedp.SetValue(css(`input[name="q"]`), "PROFILE"),
		chromedp.Click(css(`form.search button`)),
		chromedp.WaitVisible(css(`input[name="q"][value="PROFILE"]`)),
	)
	require.Equal(t, []string{"user:2:profile", "user:1:profile"}, keysShown(t, ctx))
	require.Equal(t, base+"?q=PROFILE", value(t, ctx, "location", chromedp.Location()))

	steps(t, ctx, "filter",
		chromedp.Click(css(`a.clear-search`)),
		chromedp.WaitNotPresent(css(`a.clear-search`)),
		chromedp.Click(css(`a.tab-expired`)),
		chromedp.WaitVisible(css(`a.tab-expired[aria-current="page"]`)),
	)
	require.Equal(t, []string{"rate:10.0.0.2", "rate:10.0.0.1"}, keysShown(t, ctx))

	steps(t, ctx, "open a detail",
		chromedp.Navigate(base),
		chromedp.WaitVisible(css(`table.entries`)),
		chromedp.Click(chromedp.Search(`//td[@class="key"]/a[text()="user:1:profile"]`)),
		chromedp.WaitVisible(css(`h1.entry-key`)),
	)
	require.Equal(t, "user:1:profile", value(t, ctx, "key", chromedp.Text(css(`h1.entry-key`))))
	require.Equal(t, base+"entry?key=user%3A1%3Aprofile", value(t, ctx, "location", chromedp.Location()))
	require.Contains(t, value(t, ctx, "value", chromedp.Text(css(`pre.json`))), `"key": "user:1:profile"`)
	shot(t, ctx, filepath.Join(t.TempDir(), "entry.png"))

	steps(t, ctx, "delete it", chromedp.Click(css(`form.danger-zone button`)), chromedp.WaitVisible(css(`.flash-ok`)))
	require.Equal(t, `Deleted "user:1:profile".`, value(t, ctx, "flash", chromedp.Text(css(`.flash-ok`))))
	require.Equal(t, base, value(t, ctx, "location", chromedp.Location()))
	keys := keysShown(t, ctx)
	require.NotContains(t, keys, "user:1:profile")
	require.Len(t, keys, 6)
	ok, err := cache.Cached(db, "user:1:profile").Exists()
	require.NoError(t, err)
	require.False(t, ok)

	steps(t, ctx, "clear expired",
		chromedp.Navigate(base), // no flash left on the page
		chromedp.WaitVisible(css(`table.entries`)),
		chromedp.Click(chromedp.Search(`//button[starts-with(normalize-space(.), "Clear expired")]`)),
		chromedp.WaitVisible(css(`.flash-ok`)),
	)
	require.Equal(t, "Cleared 2 expired entries.", value(t, ctx, "flash", chromedp.Text(css(`.flash-ok`))))
	require.Equal(t, []string{"<script>alert(1)</script>", "config:flags", "session:abc", "user:2:profile"}, keysShown(t, ctx))
	shot(t, ctx, filepath.Join(t.TempDir(), "cleared.png"))

	steps(t, ctx, "clear all, confirmed",
		chromedp.Click(css(`a.danger-outline`)),
		chromedp.WaitVisible(css(`section.confirm`)),
		chromedp.Click(css(`section.confirm button.danger`)),
		chromedp.WaitVisible(css(`.flash-ok`)),
	)
	require.Equal(t, "Cleared all 4 entries.", value(t, ctx, "flash", chromedp.Text(css(`.flash-ok`))))
	st, err := cache.Stats(db)
	require.NoError(t, err)
	require.Zero(t, st.Total)
}

// TestBrowserScreenshots renders the list and an entry at desktop and phone
// widths into the test's temporary directory, checking that nothing scrolls
// sideways. With -update-docs it writes the desktop list to docs/admin.png,
// the README's screenshot.
func TestBrowserScreenshots(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	b := cachetest.SQLite(t)
	demoData(t, b.DB)
	srv := mounted(t, Handler(b.DB, Options{Authorize: AllowAll, Title: "Shop cache"}))
	base := srv.URL + "/admin/cache/"

	tmp := t.TempDir()
	dir := func(name string) string {
		if *updateDocs && name == "admin.png" {
			return filepath.Join("..", "docs", name) // the README's
		}
		return filepath.Join(tmp, name)
	}
	ctx = newTab(t, ctx)
	overflows := func(what string) bool {
		return value(t, ctx, what, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	}
	for _, v := range []struct {
		name          string
		width, height int64
		scale         float64
	}{
		{"admin.png", 1100, 700, 1},
		{"admin-phone.png", 390, 844, 2},
	} {
		steps(t, ctx, v.name,
			chromedp.EmulateViewport(v.width, v.height, chromedp.EmulateScale(v.scale)),
			chromedp.Navigate(base),
			chromedp.WaitVisible(chromedp.CSS(`table.entries`)),
		)
		// Nothing wider than the screen: no sideways scrolling.
		require.False(t, overflows(v.name), "%s: the page scrolls sideways", v.name)
		shot(t, ctx, dir(v.name))
	}
	steps(t, ctx, "entry on a phone",
		chromedp.Navigate(base+"entry?key=user%3A1042%3Aprofile"),
		chromedp.WaitVisible(chromedp.CSS(`pre.json`)),
	)
	require.False(t, overflows("entry"), "entry page on a phone scrolls sideways")
	shot(t, ctx, dir("admin-entry-phone.png"))
}

// demoData fills the cache the way an app would over a day, with entries of
// every status, written straight to the table to give them past times.
func demoData(t *testing.T, db *gorm.DB) {
	t.Helper()
	now := time.Now().UTC()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	in := func(d time.Duration) *time.Time { e := now.Add(d); return &e }
	entries := []struct {
		key              string
		value            any
		expires          *time.Time
		created, updated time.Time
	}{
		{"config:feature-flags", map[string]bool{"new_checkout": true, "dark_mode": false}, nil, ago(26 * time.Hour), ago(3 * time.Hour)},
		{"rate:login:203.0.113.7", 5, in(-2 * time.Minute), ago(12 * time.Minute), ago(4 * time.Minute)},
		{"product:1187:price", map[string]any{"amount": 1999, "currency": "EUR"}, in(-3 * time.Hour), ago(5 * time.Hour), ago(5 * time.Hour)},
		{"session:9f2c41d8", map[string]any{"user_id": 1042, "csrf": "c0ffee"}, in(25 * time.Minute), ago(95 * time.Minute), ago(5 * time.Minute)},
		{"product:1187:stock", 42, in(45 * time.Second), ago(75 * time.Minute), ago(15 * time.Second)},
		{"search:q=running+shoes&page=1", []int{1187, 2201, 3302, 1190, 4410, 5120}, in(10 * time.Minute), ago(50 * time.Minute), ago(50 * time.Minute)},
		{"rate:login:198.51.100.23", 1, in(-40 * time.Second), ago(100 * time.Second), ago(100 * time.Second)},
		{"user:1042:profile", map[string]any{
			"id": 1042, "name": "Ada Lovelace", "email": "ada@example.com",
			"roles": []string{"customer", "beta"}, "address": map[string]string{"city": "London", "country": "GB"},
		}, in(6 * time.Hour), ago(18 * time.Minute), ago(18 * time.Minute)},
		{"exchange-rates:EUR", map[string]float64{"USD": 1.0842, "GBP": 0.8571, "JPY": 162.31}, in(36 * time.Hour), ago(12 * time.Minute), ago(12 * time.Minute)},
		{"homepage:html", fmt.Sprintf("<section>%s</section>", strings.Repeat("<article>…</article>", 120)), in(90 * time.Second), ago(2 * time.Minute), ago(30 * time.Second)},
	}
	// IDs follow creation, as they do in use.
	slices.SortFunc(entries, func(a, b struct {
		key              string
		value            any
		expires          *time.Time
		created, updated time.Time
	}) int {
		return a.created.Compare(b.created)
	})
	for _, e := range entries {
		b, err := json.Marshal(e.value)
		require.NoError(t, err)
		require.NoError(t, db.Create(&cache.CachedItem{Key: e.key, Value: b, ExpiresAt: e.expires, CreatedAt: e.created, UpdatedAt: e.updated}).Error)
	}
}

// TestBrowserBidiAndControls: a key with a right-to-left override
// (U+202E) and other hidden characters cannot reorder or hide text in the
// list, the heading or the title: each shows as its code point, and user
// text is isolated from the page around it.
func TestBrowserBidiAndControls(t *testing.T) {
	t.Parallel()
	ctx := newTab(t, browser(t))
	b := cachetest.SQLite(t)
	const key = "invoice-\u202Efdp.exe\u2066\u0085\u009b"
	seed(t, b.DB, live, "plain", key)
	require.NoError(t, cache.Cached(b.DB, "value").Set("a\u202Eb\u009dc"))
	srv := mounted(t, Handler(b.DB, Options{Authorize: AllowAll}))
	base := srv.URL + "/admin/cache/"
	type css = chromedp.CSS
	const shown = "invoice-U+202Efdp.exeU+2066U+0085U+009B"
	// innerText separates table cells with tabs and lines with line feeds.
	hiddenJS := `/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(%s)`

	steps(t, ctx, "open the list", chromedp.Navigate(base), chromedp.WaitVisible(css(`table.entries`)))
	require.Equal(t, []string{"value", shown, "plain"}, keysShown(t, ctx))
	require.False(t, value(t, ctx, "hidden characters in the list", chromedp.Evaluate[bool](fmt.Sprintf(hiddenJS, "document.body.innerText"))))
	require.Equal(t, "isolate", value(t, ctx, "isolation", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('td.key a')).unicodeBidi`)))
	require.Positive(t, value(t, ctx, "marker width", chromedp.Evaluate[float64](`document.querySelector('td.key .ctl').getBoundingClientRect().width`)))

	steps(t, ctx, "open the entry",
		chromedp.Click(chromedp.Search(`//td[@class="key"]/a[starts-with(., "invoice-")]`)),
		chromedp.WaitVisible(css(`h1.entry-key`)),
	)
	require.Equal(t, shown, value(t, ctx, "heading", chromedp.Text(css(`h1.entry-key`))))
	title := value(t, ctx, "title", chromedp.Title())
	require.Equal(t, "invoice-[U+202E]fdp.exe[U+2066][U+0085][U+009B] · Cache", title)
	require.False(t, value(t, ctx, "hidden characters in the page", chromedp.Evaluate[bool](fmt.Sprintf(hiddenJS, "document.body.innerText+document.title"))))

	steps(t, ctx, "open a value with them",
		chromedp.Navigate(base+"entry?key=value"),
		chromedp.WaitVisible(css(`pre.json`)),
	)
	require.Equal(t, `"aU+202EbU+009Dc"`, value(t, ctx, "value", chromedp.Text(css(`pre.json`))))
}
