package cache_test

import (
	"context"
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

// runOut makes the lock called name expire a second ago, as if its ttl had
// run out.
func runOut(t *testing.T, db *gorm.DB, name string) {
	t.Helper()
	res := db.Table("cache_locks").Where("name = ?", name).Update("expires_at", time.Now().UTC().Add(-time.Second))
	require.NoError(t, res.Error)
	require.EqualValues(t, 1, res.RowsAffected)
}

// 16 contenders, goroutines spread over two pools (two processes, as far as
// the database can tell), are never two inside.
func TestLockMutualExclusion(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			pools := []*gorm.DB{b.DB, cachetest.Reopen(t, b)}
			var inside, maxInside, entered atomic.Int64
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Go(func() {
					for range 3 {
						l := cache.NewLock(pools[i%2], "job", time.Minute)
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						err := l.Acquire(ctx)
						cancel()
						if err != nil {
							t.Errorf("acquire: %v", err)
							return
						}
						n := inside.Add(1)
						entered.Add(1)
						for {
							m := maxInside.Load()
							if n <= m || maxInside.CompareAndSwap(m, n) {
								break
							}
						}
						time.Sleep(time.Millisecond)
						inside.Add(-1)
						if ok, err := l.Release(); err != nil || !ok {
							t.Errorf("release: %v %v", ok, err)
							return
						}
					}
				})
			}
			wg.Wait()
			require.EqualValues(t, 48, entered.Load())
			require.EqualValues(t, 1, maxInside.Load(), "never two inside")
		})
	}
}

func TestLockLifecycle(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		a := cache.NewLock(db, "report", time.Hour)
		b := cache.NewLock(db, "report", time.Hour)
		require.Equal(t, "report", a.Name())
		require.Len(t, a.Owner(), 32)
		require.NotEqual(t, a.Owner(), b.Owner())

		ok, err := a.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = b.TryAcquire()
		require.NoError(t, err)
		require.False(t, ok, "held by another owner")
		ok, err = a.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok, "the owner takes it again")

		ok, err = a.Extend(2 * time.Hour)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = b.Extend(time.Hour)
		require.NoError(t, err)
		require.False(t, ok)
		locks, err := cache.ListLocks(db)
		require.NoError(t, err)
		require.Len(t, locks, 1)
		require.Equal(t, "report", locks[0].Name)
		require.Equal(t, a.Owner(), locks[0].Owner)
		require.WithinDuration(t, time.Now().Add(2*time.Hour), locks[0].ExpiresAt, time.Minute)
		require.WithinDuration(t, time.Now(), locks[0].AcquiredAt, time.Minute)
		require.Equal(t, time.UTC, locks[0].ExpiresAt.Location())

		ok, err = b.Release()
		require.NoError(t, err)
		require.False(t, ok, "only the owner releases")
		// Another process releases with the owner's token.
		ok, err = cache.RestoreLock(db, "report", a.Owner(), time.Hour).Release()
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = a.Release()
		require.NoError(t, err)
		require.False(t, ok, "already released")

		ok, err = b.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = cache.ForceReleaseLock(db, "report")
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = cache.ForceReleaseLock(db, "report")
		require.NoError(t, err)
		require.False(t, ok)
		ok, err = b.Extend(time.Hour)
		require.NoError(t, err)
		require.False(t, ok, "a released lock is not extended")
	})
}

// An expired lock can be taken by another owner; then the old owner's
// Release and Extend return false.
func TestLockExpiry(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		old := cache.NewLock(db, "expiring", time.Hour)
		ok, err := old.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok)
		next := cache.NewLock(db, "expiring", time.Hour)
		ok, err = next.TryAcquire()
		require.NoError(t, err)
		require.False(t, ok)
		runOut(t, db, "expiring")
		ok, err = next.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok, "an expired lock is free")
		ok, err = old.Release()
		require.NoError(t, err)
		require.False(t, ok)
		ok, err = old.Extend(time.Hour)
		require.NoError(t, err)
		require.False(t, ok)
		locks, err := cache.ListLocks(db)
		require.NoError(t, err)
		require.Len(t, locks, 1)
		require.Equal(t, next.Owner(), locks[0].Owner)

		// An owner's lock that ran out is neither released nor extended.
		stale := cache.NewLock(db, "ran-out", time.Hour)
		ok, err = stale.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok)
		runOut(t, db, "ran-out")
		ok, err = stale.Extend(time.Hour)
		require.NoError(t, err)
		require.False(t, ok)
		ok, err = stale.Release()
		require.NoError(t, err)
		require.False(t, ok)
	})
}

func TestLockAcquireWaits(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		holder := cache.NewLock(db, "waited", time.Hour)
		require.NoError(t, holder.Acquire(context.Background()))
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		waiter := cache.NewLock(db, "waited", time.Hour)
		err := waiter.Acquire(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Contains(t, err.Error(), `cache: acquire lock "waited"`)

		done := make(chan error, 1)
		go func() { done <- waiter.Acquire(context.Background()) }()
		time.Sleep(50 * time.Millisecond)
		ok, err := holder.Release()
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, <-done, "Acquire takes the lock once it is free")
		locks, err := cache.ListLocks(db)
		require.NoError(t, err)
		require.Len(t, locks, 1)
		require.Equal(t, waiter.Owner(), locks[0].Owner)
	})
}

// TestLockAcquireBacksOff: a waiter on a held lock tries again after 10 ms,
// then twice as long each time (less a random part of up to half), up to
// 1 s: a handful of attempts in half a second, not a tight loop.
func TestLockAcquireBacksOff(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		holder := cache.NewLock(db, "backoff", time.Hour)
		require.NoError(t, holder.Acquire(context.Background()))
		spans := traced(t, func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			err := cache.NewLock(db, "backoff", time.Hour).Acquire(ctx)
			require.ErrorIs(t, err, context.DeadlineExceeded)
		})
		acq := byName(spans, "cache.lock.acquire")
		require.Len(t, acq, 1)
		a := attrs(acq[0])
		require.False(t, a["cache.lock.acquired"].AsBool())
		attempts := a["cache.lock.attempts"].AsInt64()
		require.GreaterOrEqual(t, attempts, int64(2))
		require.LessOrEqual(t, attempts, int64(12), "Acquire backs off")
	})
}

func TestLockBadInput(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		for _, name := range []string{"", strings.Repeat("x", 256), "a\x00b", "\xff"} {
			l := cache.NewLock(db, name, time.Minute)
			_, err := l.TryAcquire()
			require.ErrorIs(t, err, cache.ErrInvalidKey)
			require.ErrorIs(t, l.Acquire(context.Background()), cache.ErrInvalidKey)
			_, err = l.Release()
			require.ErrorIs(t, err, cache.ErrInvalidKey)
			_, err = l.Extend(time.Minute)
			require.ErrorIs(t, err, cache.ErrInvalidKey)
			_, err = cache.ForceReleaseLock(db, name)
			require.ErrorIs(t, err, cache.ErrInvalidKey)
		}
		for _, ttl := range []time.Duration{0, -time.Second} {
			l := cache.NewLock(db, "ok", ttl)
			_, err := l.TryAcquire()
			require.ErrorIs(t, err, cache.ErrInvalidExpiration)
			require.ErrorIs(t, l.Acquire(context.Background()), cache.ErrInvalidExpiration)
			_, err = cache.NewLock(db, "ok", time.Minute).Extend(ttl)
			require.ErrorIs(t, err, cache.ErrInvalidExpiration)
		}
		_, err := cache.RestoreLock(db, "ok", "", time.Minute).TryAcquire()
		require.ErrorIs(t, err, cache.ErrInvalidKey)
		locks, err := cache.ListLocks(db)
		require.NoError(t, err)
		require.Empty(t, locks, "nothing was written")
	})
}

// Locks are not entries: no function on entries sees or removes a held
// lock, and ClearExpired prunes expired ones.
func TestLocksAreNotEntries(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		held := cache.NewLock(db, "held", time.Hour)
		ok, err := held.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok)
		short := cache.NewLock(db, "short", time.Hour)
		ok, err = short.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok)
		runOut(t, db, "short")

		for _, k := range []string{"held", "short", "gormcache:fetch:held"} {
			ok, err := cache.Cached(db, k).Exists()
			require.NoError(t, err)
			require.False(t, ok)
		}
		st, err := cache.Stats(db)
		require.NoError(t, err)
		require.Equal(t, cache.Statistics{}, st)
		require.Zero(t, countRows(t, db))
		n, err := cache.Clear(db)
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = cache.ClearExpired(db)
		require.NoError(t, err)
		require.Zero(t, n, "pruned locks are not counted as entries")

		var rows int64
		require.NoError(t, db.Table("cache_locks").Count(&rows).Error)
		require.EqualValues(t, 1, rows, "the expired lock was pruned, the held one kept")
		locks, err := cache.ListLocks(db)
		require.NoError(t, err)
		require.Len(t, locks, 1)
		require.Equal(t, "held", locks[0].Name)
		ok, err = held.Release()
		require.NoError(t, err)
		require.True(t, ok)
	})
}

func TestLockSpans(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		spans := traced(t, func(ctx context.Context) {
			l := cache.NewLock(db.WithContext(ctx), "traced", time.Minute)
			require.NoError(t, l.Acquire(ctx))
			_, err := l.Extend(time.Minute)
			require.NoError(t, err)
			_, err = l.Release()
			require.NoError(t, err)
		})
		acq := byName(spans, "cache.lock.acquire")
		require.Len(t, acq, 1)
		a := attrs(acq[0])
		require.Equal(t, "traced", a["cache.key"].AsString())
		require.True(t, a["cache.lock.acquired"].AsBool())
		require.EqualValues(t, 1, a["cache.lock.attempts"].AsInt64())
		require.Len(t, byName(spans, "cache.lock.extend"), 1)
		require.Len(t, byName(spans, "cache.lock.release"), 1)
	})
}

// A renewal or an extension to the expiry the lock has already changes no
// column (MySQL without clientFoundRows then reports no affected row); the
// owner still holds the lock, and another owner is still refused.
func TestLockSameInstant(t *testing.T) {
	at := time.Now().UTC().Truncate(time.Second)
	restore := cache.SetClock(func() time.Time { return at })
	defer restore()
	each(t, func(t *testing.T, db *gorm.DB) {
		a := cache.NewLock(db, "same", time.Hour)
		for i := range 2 {
			ok, err := a.TryAcquire()
			require.NoError(t, err)
			require.True(t, ok, "acquisition %d", i)
		}
		for i := range 2 {
			ok, err := a.Extend(time.Hour)
			require.NoError(t, err)
			require.True(t, ok, "extension %d", i)
		}
		ok, err := cache.NewLock(db, "same", time.Hour).TryAcquire()
		require.NoError(t, err)
		require.False(t, ok, "held by another owner")
		ok, err = a.Release()
		require.NoError(t, err)
		require.True(t, ok)
	})
}

// Lock names and owners compare byte for byte on every database: names that
// differ only in case or trailing spaces are different locks, and an owner
// token in another case is another owner.
func TestLockNamesByteForByte(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		for _, name := range []string{"job", "Job", "job "} {
			ok, err := cache.NewLock(db, name, time.Hour).TryAcquire()
			require.NoError(t, err)
			require.True(t, ok, "%q is a lock of its own", name)
		}
		l := cache.RestoreLock(db, "owned", "abc", time.Hour)
		ok, err := l.TryAcquire()
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = cache.RestoreLock(db, "owned", "ABC", time.Hour).TryAcquire()
		require.NoError(t, err)
		require.False(t, ok, "another owner")
		ok, err = cache.RestoreLock(db, "owned", "abc ", time.Hour).Release()
		require.NoError(t, err)
		require.False(t, ok, "another owner")
	})
}
