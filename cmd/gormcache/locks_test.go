package main_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
)

func TestLocksAndUnlock(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			res := gc(t, b.DSN, "locks")
			requireOK(t, res)
			require.Equal(t, "no locks held\n", res.stdout)
			res = gc(t, b.DSN, "locks", "--json")
			requireOK(t, res)
			require.JSONEq(t, `[]`, res.stdout)

			l := cache.NewLock(b.DB, "nightly", time.Hour)
			ok, err := l.TryAcquire()
			require.NoError(t, err)
			require.True(t, ok)
			res = gc(t, b.DSN, "locks")
			requireOK(t, res)
			require.Regexp(t, `^NAME +OWNER +EXPIRES\nnightly +`+l.Owner()+` +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$`, res.stdout)
			res = gc(t, b.DSN, "locks", "--json")
			requireOK(t, res)
			var got []cache.LockInfo
			require.NoError(t, json.Unmarshal([]byte(res.stdout), &got))
			require.Len(t, got, 1)
			require.Equal(t, l.Owner(), got[0].Owner)
			require.WithinDuration(t, time.Now().Add(time.Hour), got[0].ExpiresAt, time.Minute)

			// No terminal, no --yes: refused.
			requireFail(t, gc(t, b.DSN, "unlock", "nightly"), 1, "pass --yes")
			res = gc(t, b.DSN, "unlock", "nightly", "-y")
			requireOK(t, res)
			require.Equal(t, "released nightly\n", res.stdout)
			ok, err = l.Extend(time.Hour)
			require.NoError(t, err)
			require.False(t, ok, "released")
			requireFail(t, gc(t, b.DSN, "unlock", "nightly", "--yes"), 1, "not held")
			res = gc(t, b.DSN, "unlock", "nightly", "--yes", "--json")
			requireOK(t, res)
			require.JSONEq(t, `{"released":false}`, res.stdout)
			requireFail(t, gc(t, b.DSN, "unlock"), 2, "NAME")
		})
	}
}
