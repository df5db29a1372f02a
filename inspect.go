package cache

// This file holds the inspection API: List, Inspect and Measure, and the
// Status vocabulary they share with the scopes and Statistics. The CLI
// (cachecli) and the admin page (cacheadmin) are built on it alone.

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// Status says what an entry's expiry makes of it at a given moment. The
// same words name the scopes, the fields of [Statistics], the filters of
// [List], the CLI's flags and the admin page's tabs:
//
//	live       what reads see: never expires, or expires later (scope Live)
//	unexpired  has an expiry still to come (scope Unexpired)
//	expired    has an expiry that has passed, not cleared yet (scope Expired)
//	forever    never expires (scope Forever)
//
// An entry is always one of unexpired, expired or forever; live is
// unexpired and forever together. [StatusAll] filters nothing.
type Status string

// The statuses.
const (
	StatusAll       Status = "all"
	StatusLive      Status = "live"
	StatusUnexpired Status = "unexpired"
	StatusExpired   Status = "expired"
	StatusForever   Status = "forever"
)

// ParseStatus returns the Status named s: "all", "live", "unexpired",
// "expired" or "forever". The empty string is StatusAll. Any other s gives an
// error wrapping [ErrInvalidStatus].
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case "":
		return StatusAll, nil
	case StatusAll, StatusLive, StatusUnexpired, StatusExpired, StatusForever:
		return st, nil
	}
	return "", fmt.Errorf("%w %q: use all, live, unexpired, expired or forever", ErrInvalidStatus, s)
}

// statusAt classifies an entry with the given expiry at now, by the rule of
// [CachedItem.IsExpired].
func statusAt(expiresAt *time.Time, now time.Time) Status {
	switch {
	case expiresAt == nil:
		return StatusForever
	case expiresAt.Before(now):
		return StatusExpired
	default:
		return StatusUnexpired
	}
}

// EntryInfo describes one entry, live or expired.
type EntryInfo struct {
	ID  int64
	Key string
	// Status is StatusUnexpired, StatusExpired or StatusForever, at the
	// time of the call.
	Status Status
	// ExpiresAt is when the entry expires, in UTC; nil means never.
	ExpiresAt *time.Time
	CreatedAt time.Time // in UTC
	UpdatedAt time.Time // in UTC
	// Size is the length in bytes of the value's JSON text as the database
	// gives it back (PostgreSQL's jsonb normalizes spacing).
	Size int64
	// Value is the stored JSON. [Inspect] fills it; [List] never reads
	// values and leaves it nil.
	Value JSON
	// Tags are the entry's tags (see [WithTags]), in byte order; nil when
	// it has none.
	Tags []string

	// KeepUntil is when [Fetch] stops serving the entry stale or
	// fail-safe, in UTC; nil when no Fetch stored it with such a window.
	// [Inspect] fills it; [List] leaves it nil.
	KeepUntil *time.Time
}

// ListOptions selects the entries of [List]. The zero value lists the
// first page of every entry.
type ListOptions struct {
	// Status keeps the entries of one status; see [Status]. Defaults to
	// StatusAll.
	Status Status
	// Contains keeps the keys that contain it, ignoring ASCII case only;
	// %, _ and \ are plain characters. Defaults to "": every key.
	Contains string
	// Prefix keeps the keys that start with it, case-sensitively. Defaults
	// to "": every key.
	Prefix string
	// Tag keeps the entries tagged with it (see [WithTags]). Defaults to
	// "": every entry.
	Tag string
	// After is the Next of the previous [Page], to read the page after it.
	// Defaults to "": the first page.
	After string
	// Limit is the most entries one page holds. Defaults to 100; at most
	// 1000 (a larger Limit reads 1000).
	Limit int
}

// Limits of ListOptions.Limit.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// Page is one page of [List].
type Page struct {
	// Entries are newest first: in decreasing order of ID, which is the
	// order in which keys were first stored.
	Entries []EntryInfo
	// Next is the cursor of the following page, to pass as
	// ListOptions.After; "" on the last page. It is opaque, and stays valid
	// while entries come and go: a keyset cursor, not an offset.
	Next string
}

// listRow is the row of a list query.
type listRow struct {
	ID        int64
	Key       string
	ExpiresAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	Size      int64
	Tags      JSON
}

// List returns one page of entries, newest first, without their values.
// It reads the table of db's session: cached_items, or the table named with
// db.Table. Like every function of the package it refuses a session whose
// clauses would change its SQL ([ErrUnsupportedSession]). Each page is one query on the primary key's index, whatever the
// table's size; the filters narrow it. Bad options give an error wrapping
// [ErrInvalidStatus] or [ErrInvalidCursor].
//
//	page, err := cache.List(db, cache.ListOptions{Status: cache.StatusExpired})
//	for page.Next != "" && err == nil {
//		page, err = cache.List(db, cache.ListOptions{Status: cache.StatusExpired, After: page.Next})
//	}
func List(db *gorm.DB, opts ListOptions) (Page, error) {
	o, err := start(db, "cache.list", "list", "", false)
	var p Page
	if err == nil {
		p, err = list(o.r, opts)
	}
	return p, o.end(err)
}

func list(r runner, opts ListOptions) (Page, error) {
	status, err := ParseStatus(string(opts.Status))
	if err != nil {
		return Page{}, err
	}
	var after int64
	if opts.After != "" {
		after, err = strconv.ParseInt(opts.After, 10, 64)
		if err != nil || after <= 0 {
			return Page{}, fmt.Errorf("%w %q", ErrInvalidCursor, opts.After)
		}
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	limit = min(limit, maxListLimit)
	p := Page{Entries: []EntryInfo{}}
	if !storable(opts.Contains) || !storable(opts.Prefix) || !storable(opts.Tag) {
		// No key holds invalid UTF-8 or NUL (ErrInvalidKey), and
		// PostgreSQL would refuse the parameter.
		return p, nil
	}

	name := r.d.Name
	now := clock()
	tx := r.session().Select(dialect.ListColumns(name))
	switch status {
	case StatusLive:
		tx = tx.Where(dialect.IsLive(r.d.Name), now)
	case StatusUnexpired:
		tx = tx.Where(dialect.IsUnexpired(r.d.Name), now)
	case StatusExpired:
		tx = tx.Where(dialect.IsExpired(r.d.Name), now)
	case StatusForever:
		tx = tx.Where(dialect.IsForever(r.d.Name))
	}
	if opts.Contains != "" {
		tx = tx.Where(dialect.KeyContains(name), "%"+escapeLike(asciiLower(opts.Contains))+"%")
	}
	if opts.Prefix != "" {
		tx = tx.Where(dialect.KeyHasPrefix(r.d.Name), utf8.RuneCountInString(opts.Prefix), opts.Prefix)
	}
	if opts.Tag != "" {
		tx = tx.Where(dialect.HasTag(name), opts.Tag)
	}
	if after > 0 {
		tx = tx.Where(dialect.Before(r.d.Name), after)
	}
	var rows []listRow
	if err := tx.Order(dialect.NewestFirst(r.d.Name)).Limit(limit + 1).Scan(&rows).Error; err != nil {
		return p, err
	}
	if len(rows) > limit {
		rows = rows[:limit]
		p.Next = strconv.FormatInt(rows[limit-1].ID, 10)
	}
	for _, row := range rows {
		p.Entries = append(p.Entries, EntryInfo{
			ID: row.ID, Key: row.Key, Status: statusAt(row.ExpiresAt, now), ExpiresAt: utc(row.ExpiresAt),
			CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(), Size: row.Size, Tags: decodeTags(row.Tags),
		})
	}
	return p, nil
}

// Inspect returns the entry under key with its value and metadata, live or
// expired (reads would not see an expired one), and false when the key has
// no entry. It reads the table of db's session, as [List] does.
func Inspect(db *gorm.DB, key string) (EntryInfo, bool, error) {
	o, err := start(db, "cache.inspect", "inspect", key, true)
	var (
		info  EntryInfo
		found bool
	)
	if err == nil {
		info, found, err = inspect(o.r, key)
	}
	o.hit(found)
	return info, found, o.end(err)
}

func inspect(r runner, key string) (EntryInfo, bool, error) {
	var items []CachedItem
	err := r.session().Where(dialect.KeyIs(r.d.Name), key).Limit(1).Find(&items).Error
	if err != nil || len(items) == 0 {
		return EntryInfo{}, false, err
	}
	it := items[0]
	return EntryInfo{
		ID: it.ID, Key: it.Key, Status: statusAt(it.ExpiresAt, clock()), ExpiresAt: utc(it.ExpiresAt),
		CreatedAt: it.CreatedAt.UTC(), UpdatedAt: it.UpdatedAt.UTC(), Size: int64(len(it.Value)), Value: it.Value,
		Tags:      decodeTags(it.Tags),
		KeepUntil: utc(it.KeepUntil),
	}, true, nil
}

// Measurement is how much room the cache takes, from [Measure].
type Measurement struct {
	// ValueBytes is the total size of the values, each measured as
	// [EntryInfo].Size is.
	ValueBytes int64
	// DiskBytes is the size on disk, or -1 when the database does not tell
	// it. DiskOf says what it measures.
	DiskBytes int64
	// DiskOf is "table" for the table with its indexes (and on PostgreSQL
	// its TOAST table), or "database" for the whole SQLite database, when
	// SQLite is built without the dbstat table (SQLITE_ENABLE_DBSTAT_VTAB,
	// go-sqlite3's build tag sqlite_dbstat). Empty when DiskBytes is -1.
	DiskOf string
	// OldestExpiry and NewestExpiry are the earliest and the latest expiry
	// of any entry, expired ones included; nil when no entry expires.
	OldestExpiry *time.Time
	NewestExpiry *time.Time
}

// Measure measures the cache table: the size of its values and on disk,
// and its range of expiry times. Unlike [Stats] it reads every value, so it
// costs a pass over the whole table; the CLI's stats command and the admin
// page's list call it. It reads the table of db's session, as [List]
// does.
func Measure(db *gorm.DB) (Measurement, error) {
	o, err := start(db, "cache.measure", "measure", "", false)
	m := Measurement{DiskBytes: -1}
	if err == nil {
		err = measure(o.r, &m)
	}
	return m, o.end(err)
}

func measure(r runner, m *Measurement) error {
	if err := r.session().Select(dialect.SumValueSize(r.d.Name)).Scan(&m.ValueBytes).Error; err != nil {
		return fmt.Errorf("value sizes: %w", err)
	}
	var err error
	if m.OldestExpiry, err = edgeExpiry(r, dialect.ExpiryFirst(r.d.Name)); err != nil {
		return err
	}
	if m.NewestExpiry, err = edgeExpiry(r, dialect.ExpiryLast(r.d.Name)); err != nil {
		return err
	}
	return diskSize(r, m)
}

// edgeExpiry returns the first expiry in the given order (one index probe),
// or nil when no entry expires. The column is read as a column, not as
// MIN(), so that SQLite's driver still knows it holds a time.
func edgeExpiry(r runner, order string) (*time.Time, error) {
	var items []CachedItem
	err := r.session().Select(dialect.ExpiresAt(r.d.Name)).Where(dialect.HasExpiry(r.d.Name)).
		Order(order).Limit(1).Find(&items).Error
	if err != nil {
		return nil, fmt.Errorf("expiry range: %w", err)
	}
	if len(items) == 0 {
		return nil, nil
	}
	return utc(items[0].ExpiresAt), nil
}

// diskSize fills DiskBytes and DiskOf where the database tells them.
func diskSize(r runner, m *Measurement) error {
	name, table := r.d.Name, r.d.TableName
	var n *int64
	q := dialect.TableDiskSize(name)
	if q != "" {
		err := r.session().Raw(q, table).Scan(&n).Error
		switch {
		case err == nil && n != nil:
			m.DiskBytes, m.DiskOf = *n, "table"
			return nil
		case err != nil && dialect.DatabaseDiskSize(name) == "":
			return fmt.Errorf("size of table %q: %w", table, err)
		}
	}
	if q := dialect.DatabaseDiskSize(name); q != "" {
		if err := r.session().Raw(q).Scan(&n).Error; err != nil {
			return fmt.Errorf("size of database: %w", err)
		}
		if n != nil {
			m.DiskBytes, m.DiskOf = *n, "database"
		}
	}
	return nil
}

// storable reports whether s can be part of a key: valid UTF-8 without NUL.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// asciiLower folds A-Z to a-z and leaves every other character alone, as
// the key filter's SQL does.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// escapeLike makes s match itself in a LIKE pattern whose escape character
// is a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
