package cache_test

import (
	"context"
	"errors"
	"fmt"
	"math"
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

// expireAgo makes the entry under key expire d ago, as if its TTL had run
// out then; its keep-until time moves with it.
func expireAgo(t *testing.T, db *gorm.DB, key string, d time.Duration) {
	t.Helper()
	it := row(t, db, key)
	at := time.Now().UTC().Add(-d)
	updates := map[string]any{"expires_at": at}
	if it.KeepUntil != nil {
		updates["keep_until"] = at.Add(it.KeepUntil.Sub(*it.ExpiresAt))
	}
	require.NoError(t, db.Model(&cache.CachedItem{}).Where(&cache.CachedItem{Key: key}).Updates(updates).Error)
}

// counter is a loader that counts its calls and returns its value.
type counter struct {
	calls atomic.Int64
	value atomic.Value // string
	err   atomic.Value // error wrapper
}

type errBox struct{ err error }

func newCounter(v string) *counter {
	c := &counter{}
	c.value.Store(v)
	c.err.Store(errBox{})
	return c
}

func (c *counter) load(context.Context) (string, error) {
	c.calls.Add(1)
	if err := c.err.Load().(errBox).err; err != nil {
		return "", err
	}
	return c.value.Load().(string), nil
}

type ctxKey struct{}

func TestFetchLoadsStoresAndHits(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.WithValue(context.Background(), ctxKey{}, "from db")
		var seen any
		load := func(ctx context.Context) (string, error) {
			seen = ctx.Value(ctxKey{})
			return "v1", nil
		}
		v, err := cache.Fetch(db.WithContext(ctx), "f:basic", load, cache.FetchOptions{TTL: time.Hour})
		require.NoError(t, err)
		require.Equal(t, "v1", v)
		require.Equal(t, "from db", seen, "the loader's context derives from db's")
		it := row(t, db, "f:basic")
		require.NotNil(t, it.ExpiresAt)
		require.WithinDuration(t, time.Now().Add(time.Hour), *it.ExpiresAt, time.Minute)
		require.Nil(t, it.KeepUntil, "no stale or fail-safe window: nothing to keep")

		c := newCounter("v2")
		v, err = cache.Fetch(db, "f:basic", c.load, cache.FetchOptions{TTL: time.Hour})
		require.NoError(t, err)
		require.Equal(t, "v1", v)
		require.Zero(t, c.calls.Load(), "a fresh entry is a hit")

		// Without TTL the value never expires.
		_, err = cache.Fetch(db, "f:forever", c.load, cache.FetchOptions{})
		require.NoError(t, err)
		require.Nil(t, row(t, db, "f:forever").ExpiresAt)

		// A cancelled context cancels the loader's.
		cctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = cache.Fetch(db.WithContext(cctx), "f:cancelled", c.load, cache.FetchOptions{})
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestFetchLoaderErrorStoresNothing(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		boom := errors.New("upstream down")
		c := newCounter("")
		c.err.Store(errBox{boom})
		_, err := cache.Fetch(db, "f:err", c.load, cache.FetchOptions{TTL: time.Hour, FailSafe: time.Hour})
		require.ErrorIs(t, err, boom)
		require.Contains(t, err.Error(), `cache: fetch "f:err"`)
		require.Zero(t, countRows(t, db))
		// No old value: the next call loads again (no FailSafeRetry pause).
		_, err = cache.Fetch(db, "f:err", c.load, cache.FetchOptions{TTL: time.Hour, FailSafe: time.Hour})
		require.ErrorIs(t, err, boom)
		require.EqualValues(t, 2, c.calls.Load())
	})
}

func TestFetchBadInput(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		c := newCounter("v")
		_, err := cache.Fetch(db, "", c.load, cache.FetchOptions{})
		require.ErrorIs(t, err, cache.ErrInvalidKey)
		for _, o := range []cache.FetchOptions{
			{TTL: -1}, {Stale: -1}, {FailSafe: -time.Second}, {FailSafeRetry: -1},
			{SoftTimeout: -1}, {HardTimeout: -1}, {LockWait: -1},
			{Jitter: -0.1}, {Jitter: 1.1}, {Jitter: math.NaN()},
		} {
			_, err := cache.Fetch(db, "f:bad", c.load, o)
			require.ErrorIs(t, err, cache.ErrInvalidExpiration, "%+v", o)
		}
		_, err = cache.Fetch[string](db, "f:bad", nil, cache.FetchOptions{})
		require.Error(t, err)
		require.Zero(t, c.calls.Load())
		require.Zero(t, countRows(t, db))
		// The ends of Jitter's range are valid.
		for _, j := range []float64{0, 1} {
			v, err := cache.Fetch(db, "f:jitter-ends", c.load, cache.FetchOptions{TTL: time.Hour, Jitter: j})
			require.NoError(t, err, "Jitter %v", j)
			require.Equal(t, "v", v)
		}
	})
}

// Past TTL an entry is expired for every function but Fetch, stale window
// or not.
func TestFetchExpiredForEverythingElse(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		opts := cache.FetchOptions{TTL: time.Hour, Stale: time.Hour, FailSafe: time.Hour}
		_, err := cache.Fetch(db, "f:old", newCounter("old").load, opts)
		require.NoError(t, err)
		expireAgo(t, db, "f:old", time.Minute)

		var s string
		ok, err := cache.Cached(db, "f:old").Get(&s)
		require.NoError(t, err)
		require.False(t, ok)
		ok, err = cache.Cached(db, "f:old").Exists()
		require.NoError(t, err)
		require.False(t, ok)
		_, ok, err = cache.Get[string](db, "f:old")
		require.NoError(t, err)
		require.False(t, ok)
		m, err := cache.GetMany[string](db, []string{"f:old"})
		require.NoError(t, err)
		require.Empty(t, m)
		st, err := cache.Stats(db)
		require.NoError(t, err)
		require.Equal(t, cache.Statistics{Total: 1, Expired: 1}, st)
		var n int64
		require.NoError(t, db.Model(&cache.CachedItem{}).Scopes(cache.Live).Count(&n).Error)
		require.Zero(t, n)
		require.NoError(t, db.Model(&cache.CachedItem{}).Scopes(cache.Expired).Count(&n).Error)
		require.EqualValues(t, 1, n)
		// GetOrSet computes, as for any expired entry.
		v, err := cache.GetOrSet(db, "f:old", func() (string, error) { return "computed", nil }, cache.In(time.Hour))
		require.NoError(t, err)
		require.Equal(t, "computed", v)
	})
}

// Within Stale, Fetch returns the old value at once and refreshes it in the
// background, once however many callers ask.
func TestFetchStaleWhileRevalidate(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		opts := cache.FetchOptions{TTL: time.Hour, Stale: time.Hour}
		_, err := cache.Fetch(db, "f:swr", newCounter("old").load, opts)
		require.NoError(t, err)
		keep := row(t, db, "f:swr").KeepUntil
		require.NotNil(t, keep, "the stale window is kept")
		sameTime(t, row(t, db, "f:swr").ExpiresAt.Add(time.Hour), *keep)
		expireAgo(t, db, "f:swr", time.Minute)

		release := make(chan struct{})
		var calls atomic.Int64
		load := func(ctx context.Context) (string, error) {
			calls.Add(1)
			<-release
			return "new", nil
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				v, err := cache.Fetch(db, "f:swr", load, opts)
				if err != nil || v != "old" {
					t.Errorf("stale fetch: %q, %v", v, err)
				}
			})
		}
		wg.Wait() // every caller returned while the refresh is blocked
		close(release)
		require.Eventually(t, func() bool {
			v, ok, err := cache.Get[string](db, "f:swr")
			// The flight ends just after the value is stored; a Fetch
			// before that would join it.
			return err == nil && ok && v == "new" && cache.FetchesInFlight() == 0
		}, 10*time.Second, 5*time.Millisecond)
		require.EqualValues(t, 1, calls.Load(), "one refresh for all callers")
		v, err := cache.Fetch(db, "f:swr", load, opts)
		require.NoError(t, err)
		require.Equal(t, "new", v)

		// Past Stale (and without FailSafe) the caller waits for the load.
		expireAgo(t, db, "f:swr", 2*time.Hour)
		v, err = cache.Fetch(db, "f:swr", newCounter("newer").load, opts)
		require.NoError(t, err)
		require.Equal(t, "newer", v)
	})
}

// Concurrent Fetches of a missing key through one pool make one load, and
// all get its value.
func TestFetchConcurrentMissOneLoad(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		release := make(chan struct{})
		var calls atomic.Int64
		load := func(ctx context.Context) (map[string]int, error) {
			calls.Add(1)
			<-release
			return map[string]int{"n": 1}, nil
		}
		const n = 16
		var started sync.WaitGroup
		var wg sync.WaitGroup
		results := make([]map[string]int, n)
		for i := range n {
			started.Add(1)
			wg.Go(func() {
				started.Done()
				v, err := cache.Fetch(db, "f:miss", load, cache.FetchOptions{TTL: time.Hour})
				if err != nil {
					t.Errorf("fetch: %v", err)
				}
				results[i] = v
			})
		}
		started.Wait()
		time.Sleep(50 * time.Millisecond) // let the callers join the load
		close(release)
		wg.Wait()
		require.EqualValues(t, 1, calls.Load())
		for _, r := range results {
			require.Equal(t, map[string]int{"n": 1}, r)
		}
		results[0]["n"] = 2
		require.Equal(t, 1, results[1]["n"], "callers share no map")
	})
}

// With Lock, callers in two processes (two pools) make one load.
func TestFetchLockAcrossPools(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			pools := []*gorm.DB{b.DB, cachetest.Reopen(t, b)}
			var calls atomic.Int64
			load := func(ctx context.Context) (string, error) {
				calls.Add(1)
				time.Sleep(200 * time.Millisecond) // a slow upstream
				return "loaded", nil
			}
			opts := cache.FetchOptions{TTL: time.Hour, Lock: true, LockWait: 30 * time.Second}
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					v, err := cache.Fetch(pools[i%2], "f:locked", load, opts)
					if err != nil || v != "loaded" {
						t.Errorf("fetch: %q, %v", v, err)
					}
				})
			}
			wg.Wait()
			require.EqualValues(t, 1, calls.Load(), "one load across both pools")
			locks, err := cache.ListLocks(b.DB)
			require.NoError(t, err)
			require.Empty(t, locks, "the load's lock was released")
		})
	}
}

// A caller that finds another process's lock waits LockWait, then serves
// the old value or, without one, loads itself.
func TestFetchLockWait(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		for _, key := range []string{"f:lw:new", "f:lw:old"} {
			held := cache.NewLock(db, "gormcache:fetch:"+key, time.Hour)
			ok, err := held.TryAcquire()
			require.NoError(t, err)
			require.True(t, ok)
			t.Cleanup(func() { _, _ = held.Release() })
		}
		opts := cache.FetchOptions{TTL: time.Hour, FailSafe: time.Hour, Lock: true, LockWait: 100 * time.Millisecond}
		c := newCounter("mine")
		v, err := cache.Fetch(db, "f:lw:new", c.load, opts)
		require.NoError(t, err)
		require.Equal(t, "mine", v, "no old value: loads itself")
		require.EqualValues(t, 1, c.calls.Load())

		require.NoError(t, cache.Cached(db, "f:lw:old").Set("old", cache.In(-time.Minute)))
		v, err = cache.Fetch(db, "f:lw:old", c.load, opts)
		require.NoError(t, err)
		require.Equal(t, "old", v, "an old value within FailSafe is served")
		require.EqualValues(t, 1, c.calls.Load())
	})
}

func TestFetchFailSafe(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		boom := errors.New("upstream down")
		opts := cache.FetchOptions{TTL: time.Hour, FailSafe: time.Hour, FailSafeRetry: time.Hour}
		// Failures are remembered by pool and key: keys of their own.
		fs, retry := "f:fs:"+t.Name(), "f:fs:retry:"+t.Name()
		for _, key := range []string{fs, retry} {
			_, err := cache.Fetch(db, key, newCounter("old").load, opts)
			require.NoError(t, err)
			require.NotNil(t, row(t, db, key).KeepUntil)
			expireAgo(t, db, key, time.Minute)
		}
		failing := newCounter("")
		failing.err.Store(errBox{boom})

		v, err := cache.Fetch(db, fs, failing.load, opts)
		require.NoError(t, err)
		require.Equal(t, "old", v, "within FailSafe the old value stands in")
		require.EqualValues(t, 1, failing.calls.Load())
		v, err = cache.Fetch(db, fs, failing.load, opts)
		require.NoError(t, err)
		require.Equal(t, "old", v)
		require.EqualValues(t, 1, failing.calls.Load(), "within FailSafeRetry the loader is not called")

		// Past FailSafeRetry the loader is called again.
		short := opts
		short.FailSafeRetry = 50 * time.Millisecond
		v, err = cache.Fetch(db, retry, failing.load, short)
		require.NoError(t, err)
		require.Equal(t, "old", v)
		require.EqualValues(t, 2, failing.calls.Load())
		time.Sleep(200 * time.Millisecond)
		v, err = cache.Fetch(db, retry, failing.load, short)
		require.NoError(t, err)
		require.Equal(t, "old", v)
		require.EqualValues(t, 3, failing.calls.Load())

		// Past FailSafe the error is returned.
		expireAgo(t, db, fs, 2*time.Hour)
		_, err = cache.Fetch(db, fs, failing.load, opts)
		require.ErrorIs(t, err, boom)
		// A success ends the pause and stores the new value.
		v, err = cache.Fetch(db, fs, newCounter("new").load, opts)
		require.NoError(t, err)
		require.Equal(t, "new", v)
	})
}

// With an old value at hand, a load slower than SoftTimeout returns the old
// value; the load goes on, even after the caller's context ends, and stores
// its result.
func TestFetchSoftTimeout(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		opts := cache.FetchOptions{TTL: time.Hour, FailSafe: time.Hour, SoftTimeout: 20 * time.Millisecond}
		_, err := cache.Fetch(db, "f:soft", newCounter("old").load, opts)
		require.NoError(t, err)
		expireAgo(t, db, "f:soft", time.Minute)

		release := make(chan struct{})
		var loaderErr atomic.Value
		load := func(ctx context.Context) (string, error) {
			<-release
			loaderErr.Store(errBox{ctx.Err()})
			return "slow", nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		v, err := cache.Fetch(db.WithContext(ctx), "f:soft", load, opts)
		cancel()
		require.NoError(t, err)
		require.Equal(t, "old", v)
		close(release)
		require.Eventually(t, func() bool {
			v, ok, err := cache.Get[string](db, "f:soft")
			return err == nil && ok && v == "slow"
		}, 10*time.Second, 5*time.Millisecond)
		require.NoError(t, loaderErr.Load().(errBox).err, "the caller's cancellation does not reach a detached load")

		// Without an old value there is nothing to return early: the caller
		// waits.
		v, err = cache.Fetch(db, "f:soft:new", func(ctx context.Context) (string, error) {
			time.Sleep(100 * time.Millisecond)
			return "waited", nil
		}, opts)
		require.NoError(t, err)
		require.Equal(t, "waited", v)
	})
}

// A load slower than HardTimeout is cancelled: the caller gets an error
// wrapping context.DeadlineExceeded, or the old value under FailSafe.
func TestFetchHardTimeout(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		cancelled := make(chan error, 2)
		load := func(ctx context.Context) (string, error) {
			<-ctx.Done()
			cancelled <- ctx.Err()
			return "", ctx.Err()
		}
		opts := cache.FetchOptions{TTL: time.Hour, HardTimeout: 50 * time.Millisecond}
		_, err := cache.Fetch(db, "f:hard", load, opts)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, <-cancelled, context.DeadlineExceeded, "the loader's context is cancelled")
		require.Zero(t, countRows(t, db))

		opts.FailSafe = time.Hour
		_, err = cache.Fetch(db, "f:hard", newCounter("old").load, opts)
		require.NoError(t, err)
		expireAgo(t, db, "f:hard", time.Minute)
		v, err := cache.Fetch(db, "f:hard", load, opts)
		require.NoError(t, err)
		require.Equal(t, "old", v)
		require.ErrorIs(t, <-cancelled, context.DeadlineExceeded)

		// A loader that ignores its context is not waited for.
		ignoring := func(ctx context.Context) (string, error) {
			time.Sleep(time.Second)
			return "late", nil
		}
		_, err = cache.Fetch(db, "f:hard:ignore", ignoring, cache.FetchOptions{HardTimeout: 50 * time.Millisecond})
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestFetchJitter(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		opts := cache.FetchOptions{TTL: time.Hour, Jitter: 0.5}
		seen := map[time.Duration]bool{}
		for i := range 10 {
			key := fmt.Sprintf("f:jitter:%d", i)
			before := time.Now()
			_, err := cache.Fetch(db, key, newCounter("v").load, opts)
			require.NoError(t, err)
			ttl := row(t, db, key).ExpiresAt.Sub(before)
			require.GreaterOrEqual(t, ttl, 30*time.Minute-time.Second)
			require.LessOrEqual(t, ttl, time.Hour+time.Second)
			seen[ttl.Round(time.Second)] = true
		}
		require.Greater(t, len(seen), 1, "expiries are spread")
	})
}

// With FailOpen a database failure does not fail the call: the loader's
// value is returned.
func TestFetchFailOpen(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := cachetest.Reopen(t, b)
			sqlDB, err := db.DB()
			require.NoError(t, err)
			require.NoError(t, sqlDB.Close())
			c := newCounter("fresh")
			_, err = cache.Fetch(db, "f:open", c.load, cache.FetchOptions{TTL: time.Hour})
			require.Error(t, err)
			require.Zero(t, c.calls.Load())
			var spans []string
			for _, opts := range []cache.FetchOptions{{TTL: time.Hour, FailOpen: true}, {TTL: time.Hour, FailOpen: true, Lock: true}} {
				got := traced(t, func(ctx context.Context) {
					v, err := cache.Fetch(db.WithContext(ctx), "f:open", c.load, opts)
					require.NoError(t, err)
					require.Equal(t, "fresh", v)
				})
				s := byName(got, "cache.fetch")
				require.Len(t, s, 1)
				require.NotEmpty(t, s[0].Events(), "the database error is recorded")
				spans = append(spans, s[0].Events()[0].Name)
			}
			require.Equal(t, []string{"exception", "exception"}, spans)
			require.EqualValues(t, 2, c.calls.Load())
		})
	}
}

// ClearExpired keeps a row while Fetch may serve it stale or fail-safe.
func TestFetchClearExpiredKeeps(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		opts := cache.FetchOptions{TTL: time.Hour, Stale: time.Minute, FailSafe: 2 * time.Hour}
		_, err := cache.Fetch(db, "f:keep", newCounter("v").load, opts)
		require.NoError(t, err)
		_, err = cache.Fetch(db, "f:gone", newCounter("v").load, opts)
		require.NoError(t, err)
		it := row(t, db, "f:keep")
		sameTime(t, it.ExpiresAt.Add(2*time.Hour), *it.KeepUntil)
		require.NoError(t, cache.Cached(db, "plain").Set("v", cache.In(-time.Second)))
		expireAgo(t, db, "f:keep", time.Hour)   // fail-safe until an hour from now
		expireAgo(t, db, "f:gone", 3*time.Hour) // fail-safe ended an hour ago
		n, err := cache.ClearExpired(db)
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
		require.EqualValues(t, 1, countRows(t, db))
		row(t, db, "f:keep")
		// Once past keep-until it goes.
		expireAgo(t, db, "f:keep", 3*time.Hour)
		n, err = cache.ClearExpired(db)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	})
}

// AutoMigrate adds the keep_until column to a table made before it existed.
func TestFetchMigratesOldTable(t *testing.T) {
	type oldItem struct {
		ID        int64      `gorm:"primaryKey"`
		Key       string     `gorm:"size:255;not null;uniqueIndex"`
		Value     cache.JSON `gorm:"not null"`
		ExpiresAt *time.Time `gorm:"index"`
		CreatedAt time.Time  `gorm:"not null"`
		UpdatedAt time.Time  `gorm:"not null"`
	}
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.DB
			require.NoError(t, db.Migrator().DropTable("cached_items", "cache_locks"))
			require.NoError(t, db.Table("cached_items").AutoMigrate(&oldItem{}))
			require.False(t, db.Migrator().HasColumn(&cache.CachedItem{}, "keep_until"))
			// Written as the old version wrote it: that version's Set knew
			// no later column.
			now := time.Now().UTC()
			expired := now.Add(-time.Second)
			require.NoError(t, db.Table("cached_items").Create(&oldItem{
				Key: "before", Value: cache.JSON(`"v"`), ExpiresAt: &expired, CreatedAt: now, UpdatedAt: now,
			}).Error)

			require.NoError(t, cache.AutoMigrate(db))
			require.True(t, db.Migrator().HasColumn(&cache.CachedItem{}, "keep_until"))
			require.True(t, db.Migrator().HasTable("cache_locks"))
			v, err := cache.Fetch(db, "before", newCounter("new").load, cache.FetchOptions{TTL: time.Hour, Stale: time.Hour})
			require.NoError(t, err)
			require.Equal(t, "v", v, "an entry stored before the migration is served stale")
			require.Eventually(t, func() bool {
				v, ok, err := cache.Get[string](db, "before")
				return err == nil && ok && v == "new"
			}, 10*time.Second, 5*time.Millisecond)
			n, err := cache.ClearExpired(db)
			require.NoError(t, err)
			require.Zero(t, n)
			require.NoError(t, cache.AutoMigrate(db), "idempotent")
		})
	}
}

func TestFetchInTransaction(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		rollback := errors.New("rollback")
		err := db.Transaction(func(tx *gorm.DB) error {
			v, err := cache.Fetch(tx, "f:tx", newCounter("in tx").load, cache.FetchOptions{TTL: time.Hour, Lock: true, Stale: time.Hour})
			require.NoError(t, err)
			require.Equal(t, "in tx", v)
			v, err = cache.Fetch(tx, "f:tx", newCounter("again").load, cache.FetchOptions{TTL: time.Hour})
			require.NoError(t, err)
			require.Equal(t, "in tx", v)
			return rollback
		})
		require.ErrorIs(t, err, rollback)
		require.Zero(t, countRows(t, db), "rolled back with the transaction")
	})
}

func TestFetchSpans(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		opts := cache.FetchOptions{TTL: time.Hour, Stale: time.Hour}
		fetch := func() map[string]any {
			spans := traced(t, func(ctx context.Context) {
				_, err := cache.Fetch(db.WithContext(ctx), "f:span", newCounter("v").load, opts)
				require.NoError(t, err)
			})
			s := byName(spans, "cache.fetch")
			require.Len(t, s, 1)
			out := map[string]any{}
			for k, v := range attrs(s[0]) {
				out[string(k)] = v.AsInterface()
			}
			return out
		}
		got := fetch()
		require.Equal(t, false, got["cache.hit"])
		require.NotContains(t, got, "cache.stale")
		require.Equal(t, "f:span", got["cache.key"])
		got = fetch()
		require.Equal(t, true, got["cache.hit"])
		expireAgo(t, db, "f:span", time.Minute)
		got = fetch()
		require.Equal(t, false, got["cache.hit"])
		require.Equal(t, true, got["cache.stale"])
		require.Eventually(t, func() bool { // the refresh is done
			ok, err := cache.Cached(db, "f:span").Exists()
			return err == nil && ok
		}, 10*time.Second, 5*time.Millisecond)
	})
}

// Fetch follows db.Table: a second cache table has entries of its own.
func TestFetchOtherTable(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		other := db.Table("fetch_other")
		require.NoError(t, cache.AutoMigrate(other))
		opts := cache.FetchOptions{TTL: time.Hour, Stale: time.Hour}
		v, err := cache.Fetch(other, "k", newCounter("other").load, opts)
		require.NoError(t, err)
		require.Equal(t, "other", v)
		v, err = cache.Fetch(db, "k", newCounter("main").load, opts)
		require.NoError(t, err)
		require.Equal(t, "main", v)
		var it cache.CachedItem
		require.NoError(t, db.Table("fetch_other").Where(&cache.CachedItem{Key: "k"}).Take(&it).Error)
		require.NotNil(t, it.KeepUntil)
		v, err = cache.Fetch(other, "k", newCounter("again").load, opts)
		require.NoError(t, err)
		require.Equal(t, "other", v)
	})
}

// Fetch's lock is per cache table: a key held in one table does not hold it
// in another, and a key of the longest length still gets a lock.
func TestFetchLockNames(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		other := db.Table("fetch_locks_other")
		require.NoError(t, cache.AutoMigrate(other))
		_, err := cache.Clear(other)
		require.NoError(t, err)
		held := cache.NewLock(db, "gormcache:fetch:k", time.Hour)
		ok, err := held.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok)
		t.Cleanup(func() { _, _ = held.Release() })

		long := strings.Repeat("é", cache.MaxKeyLength)
		// The prefix and this key make exactly MaxKeyLength characters
		// (more bytes): the name is kept whole.
		edge := strings.Repeat("é", cache.MaxKeyLength-len("gormcache:fetch:"))
		opts := cache.FetchOptions{TTL: time.Hour, Lock: true, LockWait: 10 * time.Millisecond}
		for _, c := range []struct {
			db        *gorm.DB
			key, lock string
		}{
			{other, "k", "gormcache:fetch@fetch_locks_other:k"},
			{db, long, "gormcache:fetch:sha256:"},
			{db, edge, "gormcache:fetch:" + edge},
			{other, long, "gormcache:fetch@sha256:"},
		} {
			var names []string
			v, err := cache.Fetch(c.db, c.key, func(context.Context) (string, error) {
				locks, err := cache.ListLocks(db)
				for _, l := range locks {
					names = append(names, l.Name)
				}
				return "v", err
			}, opts)
			require.NoError(t, err)
			require.Equal(t, "v", v)
			require.Len(t, names, 2, "the load holds a lock of its own: %q", names)
			require.Equal(t, "gormcache:fetch:k", names[0])
			require.True(t, strings.HasPrefix(names[1], c.lock), "%q", names[1])
		}
	})
}
