package cache_test

// Fetch's edges that mutation testing found unpinned: the exact ends of the
// Stale and FailSafe windows, a value that arrives after HardTimeout, callers
// that arrive while a load runs, the lock wait's polling, errors that only
// reach the span, and the second look at the row before a load.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// TestFetchWindowEnds: an entry that expired exactly Stale ago is still
// served stale, and one that expired exactly FailSafe ago still stands in
// for a failed load; a microsecond more and neither is. The package's clock
// is frozen, so it runs alone.
func TestFetchWindowEnds(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	t.Cleanup(cache.SetClock(func() time.Time { return now }))
	boom := errors.New("upstream down")
	each(t, func(t *testing.T, db *gorm.DB) {
		window := time.Minute
		failing := newCounter("")
		failing.err.Store(errBox{boom})
		for _, c := range []struct {
			name string
			opts cache.FetchOptions
		}{
			{"stale", cache.FetchOptions{TTL: time.Hour, Stale: window}},
			{"failsafe", cache.FetchOptions{TTL: time.Hour, FailSafe: window}},
		} {
			for _, past := range []time.Duration{0, time.Microsecond} {
				key := "f:edge:" + c.name + ":" + past.String()
				require.NoError(t, cache.Cached(db, key).Set("old", cache.At(now.Add(-window-past))))
				v, err := cache.Fetch(db, key, failing.load, c.opts)
				if past == 0 {
					require.NoError(t, err, "%s: expired exactly the window ago", c.name)
					require.Equal(t, "old", v, "%s", c.name)
				} else {
					require.ErrorIs(t, err, boom, "%s: expired longer ago than the window", c.name)
				}
			}
		}
		require.Eventually(t, func() bool { return cache.FetchesInFlight() == 0 }, 10*time.Second, time.Millisecond)
	})
}

// TestFetchLateValueNotStored: a loader that ignores its context and returns
// after HardTimeout has its value dropped, not stored, in the background and
// in a transaction (where the caller gets the deadline error).
func TestFetchLateValueNotStored(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		returned := make(chan struct{}, 1)
		late := func(ctx context.Context) (string, error) {
			<-ctx.Done()
			time.Sleep(20 * time.Millisecond)
			returned <- struct{}{}
			return "late", nil
		}
		opts := cache.FetchOptions{TTL: time.Hour, HardTimeout: 30 * time.Millisecond}
		_, err := cache.Fetch(db, "f:late", late, opts)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		<-returned
		require.Never(t, func() bool {
			ok, err := cache.Cached(db, "f:late").Exists()
			return err != nil || ok
		}, 300*time.Millisecond, 10*time.Millisecond, "a value past HardTimeout is not stored")

		err = db.Transaction(func(tx *gorm.DB) error {
			_, err := cache.Fetch(tx, "f:late:tx", late, opts)
			require.ErrorIs(t, err, context.DeadlineExceeded, "in a transaction the late value is an error")
			<-returned
			ok, err := cache.Cached(tx, "f:late:tx").Exists()
			require.NoError(t, err)
			require.False(t, ok)
			return nil
		})
		require.NoError(t, err)
	})
}

// TestFetchLateCallersJoin: callers that arrive while the loader runs wait
// for it rather than load again, with or without a HardTimeout still ahead.
func TestFetchLateCallersJoin(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		for _, hard := range []time.Duration{0, time.Hour} {
			key := "f:join:" + hard.String()
			started, release := make(chan struct{}), make(chan struct{})
			var calls atomic.Int64
			load := func(context.Context) (string, error) {
				if calls.Add(1) == 1 {
					close(started)
				}
				<-release
				return "v", nil
			}
			opts := cache.FetchOptions{TTL: time.Hour, HardTimeout: hard}
			var wg sync.WaitGroup
			fetch := func() {
				v, err := cache.Fetch(db, key, load, opts)
				if err != nil || v != "v" {
					t.Errorf("fetch: %q, %v", v, err)
				}
			}
			wg.Go(fetch)
			<-started
			for range 4 {
				wg.Go(fetch)
			}
			time.Sleep(50 * time.Millisecond) // let them find the load
			close(release)
			wg.Wait()
			require.EqualValues(t, 1, calls.Load(), "HardTimeout %v: one load", hard)
		}
	})
}

// TestFetchLockWaitPolls: a caller waiting for another process's load polls
// the entry with a growing pause (5 ms, ×1.5, at most 100 ms), not in a
// tight loop: about ten reads in 300 ms.
func TestFetchLockWaitPolls(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := open(t, b, &gorm.Config{})
			held := cache.NewLock(db, "gormcache:fetch:f:poll", time.Hour)
			ok, err := held.TryAcquire()
			require.NoError(t, err)
			require.True(t, ok)
			t.Cleanup(func() { _, _ = held.Release() })
			var reads atomic.Int64
			require.NoError(t, db.Callback().Query().Before("gorm:query").Register("test:count", func(tx *gorm.DB) {
				if strings.Contains(tx.Statement.SQL.String(), "expired_at") {
					reads.Add(1)
				}
			}))
			opts := cache.FetchOptions{TTL: time.Hour, Lock: true, LockWait: 300 * time.Millisecond}
			v, err := cache.Fetch(db, "f:poll", newCounter("mine").load, opts)
			require.NoError(t, err)
			require.Equal(t, "mine", v)
			require.Positive(t, reads.Load())
			require.LessOrEqual(t, reads.Load(), int64(30), "the wait polls with a growing pause")
		})
	}
}

// failStatements makes the statements whose SQL contains every part fail
// with the error it returns, through callbacks that hand-registered
// callbacks would run beside.
func failStatements(t *testing.T, db *gorm.DB, parts ...string) error {
	t.Helper()
	injected := errors.New("injected failure")
	fail := func(tx *gorm.DB) {
		sql := tx.Statement.SQL.String()
		for _, p := range parts {
			if !strings.Contains(sql, p) {
				return
			}
		}
		_ = tx.AddError(injected)
	}
	name := "test:fail:" + strings.Join(parts, ",")
	require.NoError(t, db.Callback().Query().Before("gorm:query").Register(name, fail))
	require.NoError(t, db.Callback().Raw().Before("gorm:raw").Register(name, fail))
	return injected
}

// TestFetchDatabaseErrorsOnSpan: database errors that do not fail the call
// are recorded on the cache.fetch span: a lock release that fails after
// the value was stored, and, with FailOpen, a store that fails.
func TestFetchDatabaseErrorsOnSpan(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for _, c := range []struct {
				name  string
				parts []string
				opts  cache.FetchOptions
			}{
				{"release", []string{"DELETE", "cache_locks"}, cache.FetchOptions{TTL: time.Hour, Lock: true}},
				{"store", []string{"INSERT", "keep_until"}, cache.FetchOptions{TTL: time.Hour, FailOpen: true}},
			} {
				db := open(t, b, &gorm.Config{})
				injected := failStatements(t, db, c.parts...)
				spans := traced(t, func(ctx context.Context) {
					v, err := cache.Fetch(db.WithContext(ctx), "f:span:"+c.name, newCounter("v").load, c.opts)
					require.NoError(t, err, c.name)
					require.Equal(t, "v", v, c.name)
				})
				s := byName(spans, "cache.fetch")
				require.Len(t, s, 1)
				var recorded []string
				for _, e := range s[0].Events() {
					for _, a := range e.Attributes {
						if a.Key == "exception.message" {
							recorded = append(recorded, a.Value.AsString())
						}
					}
				}
				require.NotEmpty(t, recorded, "%s: the error is on the span", c.name)
				require.Contains(t, strings.Join(recorded, "\n"), injected.Error(), c.name)
			}
		})
	}
}

// TestFetchLooksAgainBeforeLoading: a value that another process stores
// between Fetch's first read and its load is served, and the loader is not
// called.
func TestFetchLooksAgainBeforeLoading(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := open(t, b, &gorm.Config{})
			other := cachetest.Reopen(t, b)
			var first atomic.Bool
			first.Store(true)
			require.NoError(t, db.Callback().Query().After("gorm:query").Register("test:other-process", func(tx *gorm.DB) {
				if strings.Contains(tx.Statement.SQL.String(), "expired_at") && first.Swap(false) {
					require.NoError(t, cache.Cached(other, "f:again").Set("theirs", cache.In(time.Hour)))
				}
			}))
			c := newCounter("mine")
			v, err := cache.Fetch(db, "f:again", c.load, cache.FetchOptions{TTL: time.Hour})
			require.NoError(t, err)
			require.Equal(t, "theirs", v)
			require.Zero(t, c.calls.Load(), "the loader is not called")
		})
	}
}

// TestFetchLockTTL: Fetch's lock lasts HardTimeout plus 5 seconds, or 30
// seconds without a HardTimeout (FetchOptions.Lock).
func TestFetchLockTTL(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		for _, c := range []struct {
			hard, want time.Duration
		}{{0, 30 * time.Second}, {time.Minute, time.Minute + 5*time.Second}} {
			var ttl time.Duration
			_, err := cache.Fetch(db, "f:lockttl:"+c.hard.String(), func(context.Context) (string, error) {
				locks, err := cache.ListLocks(db)
				if err == nil && len(locks) == 1 {
					ttl = locks[0].ExpiresAt.Sub(locks[0].AcquiredAt)
				}
				return "v", err
			}, cache.FetchOptions{TTL: time.Hour, Lock: true, HardTimeout: c.hard})
			require.NoError(t, err)
			require.InDelta(t, c.want.Seconds(), ttl.Seconds(), 1, "HardTimeout %v", c.hard)
		}
	})
}
