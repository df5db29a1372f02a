package cacheadmin

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// In Chromium: the header links to the Locks view, which lists a held
// lock; force release goes through the confirmation page.
func TestBrowserLocks(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := newTab(t, ctx)
			l := cache.NewLock(b.DB, "nightly-report", time.Hour)
			ok, err := l.TryAcquire()
			require.NoError(t, err)
			require.True(t, ok)
			srv := mounted(t, Handler(b.DB, Options{Authorize: AllowAll}))
			base := srv.URL + "/admin/cache/"
			type css = chromedp.CSS

			steps(t, ctx, "open the locks",
				chromedp.Navigate(base),
				chromedp.Click(css(`a.nav`)),
				chromedp.WaitVisible(css(`table.locks`)),
			)
			require.Equal(t, base+"locks", value(t, ctx, "location", chromedp.Location()))
			require.Equal(t, "nightly-report", value(t, ctx, "name", chromedp.Text(css(`table.locks td.key`))))
			require.Equal(t, l.Owner(), value(t, ctx, "owner", chromedp.Text(css(`table.locks code`))))

			steps(t, ctx, "force release, confirmed",
				chromedp.Click(css(`table.locks a.button`)),
				chromedp.WaitVisible(css(`section.confirm`)),
				chromedp.Click(css(`section.confirm button.danger`)),
				chromedp.WaitVisible(css(`.flash-ok`)),
			)
			require.Equal(t, `Released lock "nightly-report".`, value(t, ctx, "flash", chromedp.Text(css(`.flash-ok`))))
			require.Equal(t, base+"locks", value(t, ctx, "location", chromedp.Location()))
			locks, err := cache.ListLocks(b.DB)
			require.NoError(t, err)
			require.Empty(t, locks)
		})
	}
}
