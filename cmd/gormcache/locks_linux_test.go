package main_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

func TestUnlockAsksOnATerminal(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	l := cache.NewLock(b.DB, "job", time.Hour)
	ok, err := l.TryAcquire()
	require.NoError(t, err)
	require.True(t, ok)
	for _, answer := range []string{"n", "y"} {
		control, term := openPTY(t)
		_, err := control.WriteString(answer + "\n")
		require.NoError(t, err)
		res := run{env: []string{"DATABASE_URL=" + b.DSN}, stdin: term}.exec(t, "unlock", "job")
		if answer == "n" {
			require.Equal(t, 1, res.code)
			require.Equal(t, "Release lock job, whoever holds it? [y/N] gormcache: unlock: not confirmed, nothing released\n", res.stderr)
			continue
		}
		requireOKPrompt(t, res, "Release lock job, whoever holds it? [y/N] ")
		require.Equal(t, "released job\n", res.stdout)
	}
}
