package cacheadmin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/dialect"
)

// listRow is one entry as the list query reads it: everything but the value.
type listRow struct {
	ID        int64
	Key       string
	ExpiresAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	Size      int64
}

// rowView is one row of the list page.
type rowView struct {
	Key     string
	URL     string // relative link to the detail page
	Status  string
	Expires *stamp // nil: never
	Created stamp
	Updated stamp
	Size    string
}

// tab is one status filter with its count from cache.Stats.
type tab struct {
	Name    string
	Label   string
	Count   int64
	URL     string
	Current bool
}

// listData is the data of the list page.
type listData struct {
	Stats    cache.Statistics
	Tabs     []tab
	Status   string // current filter, "all" when none
	Query    string // key search
	Rows     []rowView
	NextURL  string // older entries, "" on the last page
	FirstURL string // the newest entries, "" on the first page
	ClearURL string // the list without the search
	Back     listState
}

// listState is the filter and search of a list page, which the write
// actions carry so that they redirect back to the same list.
type listState struct {
	Status string
	Query  string
}

// url returns the relative URL of the list page with the state and extra
// query parameters.
func (st listState) url(extra ...string) string {
	v := url.Values{}
	if st.Status != "" && st.Status != statusAll {
		v.Set("status", st.Status)
	}
	if st.Query != "" {
		v.Set("q", st.Query)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	if len(v) == 0 {
		return "./"
	}
	return "./?" + v.Encode()
}

// parseStatus accepts the status filter values; empty means all.
func parseStatus(s string) (string, bool) {
	switch s {
	case "", statusAll:
		return statusAll, true
	case statusLive, statusExpired, statusForever:
		return s, true
	}
	return "", false
}

// entryURL is the relative link to the detail page of key.
func entryURL(key string) string {
	return "entry?" + url.Values{"key": {key}}.Encode()
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, ok := parseStatus(q.Get("status"))
	if !ok {
		s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Unknown status %q: use all, live, expired or forever.", q.Get("status")), nil)
		return
	}
	search := q.Get("q")
	var after int64
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n <= 0 {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Bad cursor %q: after must be a positive entry ID.", a), nil)
			return
		}
		after = n
	}

	db := s.db.WithContext(r.Context())
	stats, err := cache.Stats(db)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Could not count the entries.", fmt.Errorf("cacheadmin: list: %w", err))
		return
	}
	rows, more, err := s.page(db, status, search, after)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Could not list the entries.", fmt.Errorf("cacheadmin: list: %w", err))
		return
	}

	now := s.now()
	st := listState{Status: status, Query: search}
	d := listData{Stats: stats, Status: status, Query: search, Back: st, ClearURL: listState{Status: status}.url()}
	for _, t := range []tab{
		{Name: statusAll, Label: "All", Count: stats.Total},
		{Name: statusLive, Label: "Live", Count: stats.Unexpired},
		{Name: statusExpired, Label: "Expired", Count: stats.Expired},
		{Name: statusForever, Label: "Forever", Count: stats.Forever},
	} {
		t.URL = listState{Status: t.Name, Query: search}.url()
		t.Current = t.Name == status
		d.Tabs = append(d.Tabs, t)
	}
	for _, row := range rows {
		v := rowView{
			Key:     row.Key,
			URL:     entryURL(row.Key),
			Status:  statusOf(row.ExpiresAt, now),
			Created: makeStamp(row.CreatedAt, now),
			Updated: makeStamp(row.UpdatedAt, now),
			Size:    humanSize(row.Size),
		}
		if row.ExpiresAt != nil {
			e := makeStamp(*row.ExpiresAt, now)
			v.Expires = &e
		}
		d.Rows = append(d.Rows, v)
	}
	if more {
		d.NextURL = st.url("after", strconv.FormatInt(rows[len(rows)-1].ID, 10))
	}
	if after > 0 {
		d.FirstURL = st.url()
	}
	title := ""
	if search != "" {
		title = fmt.Sprintf("Search %q", search)
	}
	s.render(w, r, http.StatusOK, pageList, title, s.takeFlash(w, r), d)
}

// page reads one page of entries, newest (highest ID) first, below the
// keyset cursor after (0: from the top). more reports whether older entries
// follow.
func (s *server) page(db *gorm.DB, status, search string, after int64) (rows []listRow, more bool, err error) {
	if search != "" && (!utf8.ValidString(search) || strings.ContainsRune(search, 0)) {
		// No key holds invalid UTF-8 or NUL (cache.ErrInvalidKey), and
		// PostgreSQL would reject the parameter.
		return nil, false, nil
	}
	// Columns go in as clause.Column arguments, which the dialector quotes
	// (double quotes, or MySQL's backticks).
	tx := db.Model(&cache.CachedItem{}).Select(`?, ?, ?, ?, ?, `+dialect.ValueSize(db.Dialector.Name())+` AS size`,
		column("id"), column("key"), column("expires_at"), column("created_at"), column("updated_at"))
	switch status {
	case statusLive:
		tx = tx.Scopes(cache.Unexpired)
	case statusExpired:
		tx = tx.Scopes(cache.Expired)
	case statusForever:
		tx = tx.Scopes(cache.Forever)
	}
	if search != "" {
		// Case-insensitive on every database (SQLite's LIKE ignores ASCII
		// case, PostgreSQL's does not, MySQL's key column is binary), with
		// %, _ and \ taken literally.
		tx = tx.Where(`LOWER(?) LIKE LOWER(?) ESCAPE ?`, column("key"), "%"+escapeLike(search)+"%", `\`)
	}
	if after > 0 {
		tx = tx.Where(clause.Lt{Column: column("id"), Value: after})
	}
	if err := tx.Order(clause.OrderByColumn{Column: column("id"), Desc: true}).Limit(s.opts.PageSize + 1).Scan(&rows).Error; err != nil {
		return nil, false, err
	}
	if len(rows) > s.opts.PageSize {
		return rows[:s.opts.PageSize], true, nil
	}
	return rows, false, nil
}

// column is a column of the cache table, quoted by the dialector.
func column(name string) clause.Column {
	return clause.Column{Table: clause.CurrentTable, Name: name}
}
