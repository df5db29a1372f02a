package cache_test

// GetOrSet's edges that mutation testing found unpinned: the flight's
// statements stop once every caller has gone, a Goexit is named as such,
// and the store defers to a value another process stored meanwhile.

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// TestGetOrSetEveryCallerGone: when the leader's and the follower's contexts
// are both done, the flight's statements are cancelled: the value computed
// afterwards is not stored, and the leader gets the cancellation.
func TestGetOrSetEveryCallerGone(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		lctx, lcancel := context.WithCancel(context.Background())
		fctx, fcancel := context.WithCancel(context.Background())
		started, release := make(chan struct{}), make(chan struct{})
		leader := goGetOrSet(db.WithContext(lctx), "gone", func() (string, error) {
			close(started)
			<-release
			return "late", nil
		})
		<-started
		follower := goGetOrSet(db.WithContext(fctx), "gone", func() (string, error) { return "follower", nil })
		waitUntil(t, func() bool { return cache.GetOrSetWaiting("gone") == 2 }, "the follower joins")
		lcancel()
		fcancel()
		r := waitFor(t, follower, "the follower")
		require.ErrorIs(t, r.err, context.Canceled)
		// The leader leaves when its context's AfterFunc runs: the last to
		// leave cancels the flight and removes it.
		waitUntil(t, func() bool { return cache.GetOrSetWaiting("gone") == 0 }, "every caller has left")
		close(release)
		l := waitFor(t, leader, "the leader")
		require.ErrorIs(t, l.err, context.Canceled, "the store was cancelled")
		ok, err := cache.Cached(db, "gone").Exists()
		require.NoError(t, err)
		require.False(t, ok, "nothing stored once every caller had gone")
	})
}

// TestGetOrSetGoexitNamed: a follower of a compute that calls
// runtime.Goexit fails with ErrPanicked naming runtime.Goexit.
func TestGetOrSetGoexitNamed(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = cache.GetOrSet(db, "goexit", func() (string, error) {
				close(started)
				<-release
				runtime.Goexit()
				return "", nil
			})
		}()
		<-started
		follower := goGetOrSet(db, "goexit", func() (string, error) { return "follower", nil })
		waitUntil(t, func() bool { return cache.GetOrSetWaiting("goexit") == 2 }, "the follower joins")
		close(release)
		waitFor(t, done, "the goroutine that called Goexit")
		r := waitFor(t, follower, "the follower")
		require.ErrorIs(t, r.err, cache.ErrPanicked)
		require.Contains(t, r.err.Error(), "runtime.Goexit")
	})
}

// TestGetOrSetAnotherProcessStored: when another process stores the key
// while compute runs, GetOrSet returns that value, not its own; if that
// value is gone again when it looks, its own.
func TestGetOrSetAnotherProcessStored(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := open(t, b, &gorm.Config{})
			other := cachetest.Reopen(t, b)
			v, err := cache.GetOrSet(db, "race", func() (string, error) {
				require.NoError(t, cache.Cached(other, "race").Set("theirs"))
				return "mine", nil
			})
			require.NoError(t, err)
			require.Equal(t, "theirs", v, "the value stored first wins")

			// Deleted right after the store found it there.
			var armed atomic.Bool
			deleteAfterAdd := func(tx *gorm.DB) {
				if strings.HasPrefix(tx.Statement.SQL.String(), "INSERT") && armed.Swap(false) {
					_, err := cache.Cached(other, "race2").Delete()
					require.NoError(t, err)
				}
			}
			require.NoError(t, db.Callback().Raw().After("gorm:raw").Register("test:delete", deleteAfterAdd))
			require.NoError(t, db.Callback().Query().After("gorm:query").Register("test:delete", deleteAfterAdd))
			v, err = cache.GetOrSet(db, "race2", func() (string, error) {
				require.NoError(t, cache.Cached(other, "race2").Set("theirs"))
				armed.Store(true)
				return "mine", nil
			})
			require.NoError(t, err)
			require.Equal(t, "mine", v, "nothing to defer to: its own value")
			require.False(t, armed.Load(), "the store ran")
		})
	}
}

// waitUntil waits up to 10 s for cond.
func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond, what)
}
