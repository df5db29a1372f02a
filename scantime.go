package cache

import (
	"fmt"
	"time"
)

// sqliteTimeFormats are the layouts SQLite's driver writes times in (the
// first) and may read them in.
var sqliteTimeFormats = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// scanTime converts a scanned time to UTC: PostgreSQL's driver gives a
// time.Time, SQLite's text for an expression whose type it does not know.
func scanTime(v any) (time.Time, error) {
	var s string
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		s = t
	case []byte:
		s = string(t)
	default:
		return time.Time{}, fmt.Errorf("cannot read %T as a time", v)
	}
	if t, ok := parseSQLiteTime(s); ok {
		return t, nil
	}
	for _, f := range sqliteTimeFormats {
		if t, err := time.Parse(f, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time", s)
}

// parseSQLiteTime reads the layout SQLite's driver writes,
// "2006-01-02 15:04:05.999999999-07:00", by hand: Fetch reads an expired
// entry's time on every stale hit, and time.Parse takes several times as
// long. ok is false for any other text (or a field out of range), which
// scanTime then gives to time.Parse.
func parseSQLiteTime(s string) (t time.Time, ok bool) {
	if len(s) < 25 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return t, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return t, false
	}
	rest, nsec := s[19:], 0
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return t, false
		}
		nsec, _ = digits(rest[1:n])
		for range 10 - n {
			nsec *= 10
		}
		rest = rest[n:]
	}
	if len(rest) != 6 || rest[0] != '+' && rest[0] != '-' || rest[3] != ':' {
		return t, false
	}
	oh, ok1 := digits(rest[1:3])
	om, ok2 := digits(rest[4:6])
	if !ok1 || !ok2 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 || oh > 23 || om > 59 {
		return t, false
	}
	offset := time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
	if rest[0] == '-' {
		offset = -offset
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // past the month's end: time.Parse's error
		return time.Time{}, false
	}
	return t.Add(-offset), true
}

// digits returns the number s spells in decimal digits alone.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
