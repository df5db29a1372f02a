package cacheadmin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	cache "github.com/gormcache/cache"
)

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
	Name    cache.Status
	Label   string
	Count   int64
	URL     string
	Current bool
}

// listData is the data of the list page.
type listData struct {
	Stats cache.Statistics
	Tabs  []tab
	// ValueBytes and DiskBytes are the totals of cache.Measure, formatted;
	// DiskBytes is "" when the database does not tell it, DiskOf says
	// what it measures ("table" or "database").
	ValueBytes, DiskBytes, DiskOf string
	Status                        cache.Status // current filter, "all" when none
	Query                         string       // key search
	Tag                           string       // tag filter
	Rows                          []rowView
	NextURL                       string // older entries, "" on the last page
	FirstURL                      string // the newest entries, "" on the first page
	ClearURL                      string // the list without the search
	Back                          listState
}

// listState is the filter and search of a list page, which the write
// actions carry so that they redirect back to the same list.
type listState struct {
	Status cache.Status
	Query  string
	Tag    string // only entries with this tag
}

// url returns the relative URL of the list page with the state and extra
// query parameters.
func (st listState) url(extra ...string) string {
	v := url.Values{}
	if st.Status != "" && st.Status != cache.StatusAll {
		v.Set("status", string(st.Status))
	}
	if st.Query != "" {
		v.Set("q", st.Query)
	}
	if st.Tag != "" {
		v.Set("tag", st.Tag)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	if len(v) == 0 {
		return "./"
	}
	return "./?" + v.Encode()
}

// entryURL is the relative link to the detail page of key.
func entryURL(key string) string {
	return "entry?" + url.Values{"key": {key}}.Encode()
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, err := cache.ParseStatus(q.Get("status"))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Unknown status %q: use all, live, unexpired, expired or forever.", q.Get("status")), nil)
		return
	}
	search, after, tag := q.Get("q"), q.Get("after"), q.Get("tag")

	db := s.db.WithContext(r.Context())
	stats, err := cache.Stats(db)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Could not count the entries.", fmt.Errorf("cacheadmin: list: %w", err))
		return
	}
	// The total bytes beside the counts: a pass over the table, as the
	// CLI's stats command makes.
	size, err := cache.Measure(db)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Could not measure the entries.", fmt.Errorf("cacheadmin: list: %w", err))
		return
	}
	page, err := cache.List(db, cache.ListOptions{Status: status, Contains: search, Tag: tag, After: after, Limit: s.opts.PageSize})
	switch {
	case errors.Is(err, cache.ErrInvalidCursor):
		s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Bad cursor %q: after must be the cursor of an Older link.", after), nil)
		return
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, "Could not list the entries.", fmt.Errorf("cacheadmin: list: %w", err))
		return
	}

	now := s.now()
	st := listState{Status: status, Query: search, Tag: tag}
	d := listData{Stats: stats, ValueBytes: humanSize(size.ValueBytes), Status: status, Query: search, Tag: tag, Back: st, ClearURL: listState{Status: status, Tag: tag}.url()}
	if size.DiskBytes >= 0 {
		d.DiskBytes, d.DiskOf = humanSize(size.DiskBytes), size.DiskOf
	}
	for _, t := range []tab{
		{Name: cache.StatusAll, Label: "All", Count: stats.Total},
		{Name: cache.StatusLive, Label: "Live", Count: stats.Live},
		{Name: cache.StatusUnexpired, Label: "Unexpired", Count: stats.Unexpired},
		{Name: cache.StatusExpired, Label: "Expired", Count: stats.Expired},
		{Name: cache.StatusForever, Label: "Forever", Count: stats.Forever},
	} {
		t.URL = listState{Status: t.Name, Query: search, Tag: tag}.url()
		t.Current = t.Name == status
		d.Tabs = append(d.Tabs, t)
	}
	for _, e := range page.Entries {
		v := rowView{
			Key:     e.Key,
			URL:     entryURL(e.Key),
			Status:  string(e.Status),
			Created: makeStamp(e.CreatedAt, now),
			Updated: makeStamp(e.UpdatedAt, now),
			Size:    humanSize(e.Size),
		}
		if e.ExpiresAt != nil {
			x := makeStamp(*e.ExpiresAt, now)
			v.Expires = &x
		}
		d.Rows = append(d.Rows, v)
	}
	if page.Next != "" {
		d.NextURL = st.url("after", page.Next)
	}
	if after != "" {
		d.FirstURL = st.url()
	}
	title := ""
	if search != "" {
		title = fmt.Sprintf("Search %q", search)
	}
	s.render(w, r, http.StatusOK, pageList, title, s.takeFlash(w, r), d)
}
