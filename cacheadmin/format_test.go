package cacheadmin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRelative(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		0:                      "now",
		500 * time.Millisecond: "now",
		-time.Second:           "1s ago",
		45 * time.Second:       "in 45s",
		5 * time.Minute:        "in 5m",
		-3 * time.Hour:         "3h ago",
		47 * time.Hour:         "in 47h",
		-72 * time.Hour:        "3d ago",
		400 * 24 * time.Hour:   "in 400d",
		800 * 24 * time.Hour:   "in 2y",
	} {
		require.Equal(t, want, relative(now.Add(d), now), d.String())
	}
	s := makeStamp(time.Date(2025, 11, 25, 13, 4, 5, 0, time.FixedZone("CET", 3600)), now)
	require.Equal(t, stamp{ISO: "2025-11-25T12:04:05Z", Abs: "2025-11-25 12:04:05 UTC", Rel: "in 4m"}, s)
}

func TestHumanSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1 kB", 1500: "1.5 kB", 65536: "65.5 kB", 3_200_000: "3.2 MB", 5_000_000_000: "5 GB"} {
		require.Equal(t, want, humanSize(n), n)
	}
}

func TestEscapeLike(t *testing.T) {
	t.Parallel()
	require.Equal(t, `100\%`, escapeLike(`100%`))
	require.Equal(t, `a\_b`, escapeLike(`a_b`))
	require.Equal(t, `back\\slash`, escapeLike(`back\slash`))
	require.Equal(t, `\\\%\_`, escapeLike(`\%_`))
	require.Equal(t, `plain`, escapeLike(`plain`))
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	now := time.Now()
	past, future := now.Add(-time.Nanosecond), now.Add(time.Nanosecond)
	require.Equal(t, statusForever, statusOf(nil, now))
	require.Equal(t, statusExpired, statusOf(&past, now))
	require.Equal(t, statusLive, statusOf(&now, now), "expires_at = now is still live, as cache.Unexpired says")
	require.Equal(t, statusLive, statusOf(&future, now))
}
