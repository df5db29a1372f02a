package cacheadmin

import (
	"fmt"
	"strings"
	"time"
)

// Entry statuses, as the list's badges and filters name them.
const (
	statusAll     = "all"
	statusLive    = "live"
	statusExpired = "expired"
	statusForever = "forever"
)

// statusOf classifies an entry as reads see it at now: the same rule as
// cache.CachedItem.IsExpired and the cache.Expired scope.
func statusOf(expiresAt *time.Time, now time.Time) string {
	switch {
	case expiresAt == nil:
		return statusForever
	case expiresAt.Before(now):
		return statusExpired
	default:
		return statusLive
	}
}

// stamp is a time as the pages show it.
type stamp struct {
	ISO string // for <time datetime>
	Abs string // "2025-11-25 16:08:03 UTC"
	Rel string // "in 5m", "3h ago"
}

func makeStamp(t, now time.Time) stamp {
	t = t.UTC()
	return stamp{
		ISO: t.Format(time.RFC3339),
		Abs: t.Format("2006-01-02 15:04:05 UTC"),
		Rel: relative(t, now),
	}
}

// relative says how far t is from now: "in 5m", "3h ago", "now".
func relative(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d >= time.Second:
		return "in " + shortDuration(d)
	case d <= -time.Second:
		return shortDuration(-d) + " ago"
	default:
		return "now"
	}
}

// shortDuration rounds d down to its largest unit: 45s, 5m, 3h, 12d, 2y.
func shortDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", d/time.Second)
	case d < time.Hour:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d < 2*day:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d < 730*day:
		return fmt.Sprintf("%dd", d/day)
	default:
		return fmt.Sprintf("%dy", d/(365*day))
	}
}

// humanSize formats a byte count: 512 B, 1.5 kB, 3.2 MB.
func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	s := fmt.Sprintf("%.1f", float64(n)/float64(div))
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string("kMGTPE"[exp]) + "B"
}

// escapeLike makes s match itself in a LIKE pattern whose ESCAPE character
// is a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
