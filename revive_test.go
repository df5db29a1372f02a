package cache_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// TestClearExpiredKeepsARevivedRow (PostgreSQL, where ClearExpired and a
// writer run at once): a transaction revives an expired entry and holds
// its row while ClearExpired, which chose the row as expired, waits for
// it. Once the transaction commits, ClearExpired must see the new expiry
// and leave the row: the revived value survives, deterministically.
func TestClearExpiredKeepsARevivedRow(t *testing.T) {
	t.Parallel()
	b := cachetest.Postgres(t)
	db := b.DB
	require.NoError(t, cache.Cached(db, "k").Set("old", cache.In(-time.Hour)))
	require.NoError(t, cache.Cached(db, "other").Set("old", cache.In(-time.Hour)))

	tx := db.Begin()
	require.NoError(t, tx.Error)
	t.Cleanup(func() { tx.Rollback() })
	require.NoError(t, cache.Cached(tx, "k").Set("revived", cache.In(time.Hour)))
	var holder int
	require.NoError(t, tx.Raw(`SELECT pg_backend_pid()`).Scan(&holder).Error)

	type result struct {
		n   int64
		err error
	}
	cleared := make(chan result, 1)
	go func() {
		n, err := cache.ClearExpired(db)
		cleared <- result{n, err}
	}()
	// Wait until ClearExpired is blocked on the transaction's row lock.
	waiting := func() bool {
		var n int64
		require.NoError(t, db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))`, holder).Scan(&n).Error)
		return n > 0
	}
	deadline := time.Now().Add(time.Minute)
	for !waiting() {
		select {
		case r := <-cleared:
			t.Fatalf("ClearExpired did not wait for the row: deleted %d, %v", r.n, r.err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "ClearExpired never waited on the row")
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, tx.Commit().Error)

	var r result
	select {
	case r = <-cleared:
	case <-time.After(time.Minute):
		t.Fatal("ClearExpired did not finish after the commit")
	}
	require.NoError(t, r.err)
	require.EqualValues(t, 1, r.n, "only the other expired entry")
	v, ok, err := cache.Get[string](db, "k")
	require.NoError(t, err)
	require.True(t, ok, "the revived entry was deleted")
	require.Equal(t, "revived", v)
}
