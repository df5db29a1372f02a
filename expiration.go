package cache

import (
	"math"
	"time"
)

// Expiration says when an entry expires. Build one with [In], [At] or
// [Seconds]; functions that take `exp ...Expiration` store an entry that
// never expires when none is given. The zero Expiration is invalid.
type Expiration struct {
	kind     expKind
	relative time.Duration
	absolute time.Time
	seconds  float64 // whole seconds beyond a Duration's range
}

type expKind uint8

const (
	expInvalid expKind = iota
	expRelative
	expAbsolute
	expSeconds
)

// The range of expiry times both databases store and compare correctly:
// SQLite compares times as text, which only sorts right for 4-digit years.
var (
	minExpiry = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxExpiry = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// In returns an Expiration d after the time of the call. A negative or zero d
// stores an entry that has already expired.
func In(d time.Duration) Expiration {
	return Expiration{kind: expRelative, relative: d}
}

// At returns an Expiration at t, stored in UTC whatever t's location. A zero
// t, or one outside years 1 to 9999, makes the call fail with
// [ErrInvalidExpiration].
func At(t time.Time) Expiration {
	if t.IsZero() {
		return Expiration{}
	}
	return Expiration{kind: expAbsolute, absolute: t.UTC()}
}

// Seconds returns an Expiration s seconds after the time of the call, the
// form plain.cache takes. Fractions count; a negative s has already expired.
// NaN, ±Inf, or a time outside years 1 to 9999 make the call fail with
// [ErrInvalidExpiration].
func Seconds(s float64) Expiration {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return Expiration{}
	}
	if math.Abs(s) < float64(math.MaxInt64/int64(time.Second)) {
		return In(time.Duration(s * float64(time.Second)))
	}
	// Beyond what a Duration holds (±292 years) the time is still within
	// years 1 to 9999 up to about ±3.2e11 seconds: resolve it at the call.
	// Beyond 1e12 seconds (about 31,700 years) no time is: invalid.
	if math.Abs(s) > 1e12 {
		return Expiration{}
	}
	return Expiration{kind: expSeconds, seconds: s}
}

// expiry resolves the optional Expiration of a call against now: nil means
// the entry never expires.
func expiry(now time.Time, exp []Expiration) (*time.Time, error) {
	switch len(exp) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, ErrInvalidExpiration
	}
	var t time.Time
	switch e := exp[0]; e.kind {
	case expRelative:
		t = now.Add(e.relative)
	case expAbsolute:
		t = e.absolute
	case expSeconds:
		t = time.Unix(now.Unix()+int64(e.seconds), int64(now.Nanosecond())).UTC()
	default:
		return nil, ErrInvalidExpiration
	}
	if t.Before(minExpiry) || t.After(maxExpiry) {
		return nil, ErrInvalidExpiration
	}
	return &t, nil
}
