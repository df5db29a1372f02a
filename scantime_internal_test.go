package cache

import (
	"testing"
	"time"
)

// The hand parser agrees with time.Parse on every text it accepts, and
// accepts every time SQLite's driver writes.
func FuzzParseSQLiteTime(f *testing.F) {
	for _, s := range []string{
		"2026-12-02 15:34:33.123456789+00:00",
		"2026-12-02 15:34:33+00:00",
		"2026-12-02 15:34:33.5-07:30",
		"2024-02-29 23:59:59.000000001+14:00",
		"2023-02-29 00:00:00+00:00",
		"2026-13-01 00:00:00+00:00",
		"2026-12-02 24:00:00+00:00",
		"2026-12-02T15:34:33+00:00",
		"2026-12-02 15:34:33.+00:00",
		"2026-12-02 15:34:33.1234567891+00:00",
		"2026-12-02 15:34:33Z",
		"+026-12-02 15:34:33+00:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseSQLiteTime(s)
		want, err := time.Parse(sqliteTimeFormats[0], s)
		if ok && (err != nil || !got.Equal(want)) {
			t.Fatalf("%q: hand %v, time.Parse %v (%v)", s, got, want, err)
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q: not in UTC", s)
		}
		if y := want.UTC().Year(); err == nil && y >= 1 && y <= 9999 {
			// Every time of years 1 to 9999 the driver writes is read by
			// hand.
			w := want.UTC().Format(sqliteTimeFormats[0])
			if back, ok := parseSQLiteTime(w); !ok || !back.Equal(want) {
				t.Fatalf("%q: not read by hand (%v, %v)", w, back, ok)
			}
		}
	})
}

func TestScanTimeLayouts(t *testing.T) {
	want := time.Date(2026, 12, 2, 15, 34, 33, 120_000_000, time.UTC)
	for _, s := range []string{
		"2026-12-02 15:34:33.12+00:00",
		"2026-12-02 17:34:33.12+02:00",
		"2026-12-02T15:34:33.12Z",
		"2026-12-02 15:34:33.12",
	} {
		got, err := scanTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("scanTime(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := scanTime("2023-02-29 00:00:00+00:00"); err == nil {
		t.Error("scanTime accepted February 29th of 2023")
	}
}
