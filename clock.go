package cache

import "time"

// clock is the time every read and write compares expiries with, in UTC.
// Tests replace it (export_test.go) to pin the boundary "expires exactly
// now"; nothing else writes it.
var clock = func() time.Time { return time.Now().UTC() }
