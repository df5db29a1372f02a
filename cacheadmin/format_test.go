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
	// The units of the CLI (cachecli's humanBytes).
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 65536: "64.0 KiB", 5 << 20: "5.0 MiB", 5 << 30: "5.0 GiB"} {
		require.Equal(t, want, humanSize(n), n)
	}
}
