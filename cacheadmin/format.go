package cacheadmin

import (
	"fmt"
	"time"
)

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

// humanSize formats a byte count with a binary unit, as the CLI
// (cachecli) does: "512 B", "1.5 KiB", "3.0 MiB".
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
