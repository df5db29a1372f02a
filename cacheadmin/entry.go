package cacheadmin

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	cache "github.com/gormcache/cache"
)

// maxShownValue bounds the pretty-printed text of the value that the detail
// page shows, and with it the page's work and memory; the raw JSON link has
// all of the value.
const maxShownValue = 64 << 10

// entryData is the data of the detail page.
type entryData struct {
	Key       string
	Tags      []tagLink
	ID        int64
	Status    string
	Expires   *stamp // nil: never
	Created   stamp
	Updated   stamp
	Size      string
	Value     string // pretty-printed, maybe truncated
	Truncated bool
	Shown     string // how much of the stored value Value shows, when truncated
	RawURL    string
	Back      listState
	// Servable is when Fetch stops serving an expired entry stale or
	// fail-safe (its keep-until time); nil when it does not.
	Servable *stamp
}

// lookup reads the entry of the request's key parameter, live or expired.
// It writes an error and returns false when there is none: the error page,
// or plain text when plain is set (the raw route sits one directory deeper,
// where the page's relative links would not resolve).
func (s *server) lookup(w http.ResponseWriter, r *http.Request, plain bool) (cache.EntryInfo, bool) {
	fail := s.fail
	if plain {
		fail = func(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
			if err != nil {
				s.log(r, err)
				msg += " " + err.Error()
			}
			http.Error(w, msg, status)
		}
	}
	key := r.URL.Query().Get("key")
	if key == "" {
		fail(w, r, http.StatusBadRequest, "Missing key parameter.", nil)
		return cache.EntryInfo{}, false
	}
	e, found, err := cache.Inspect(s.db.WithContext(r.Context()), key)
	switch {
	case errors.Is(err, cache.ErrInvalidKey):
		fail(w, r, http.StatusNotFound, "No entry has this key: keys are valid UTF-8 without NUL, at most 255 characters.", nil)
		return e, false
	case err != nil:
		fail(w, r, http.StatusInternalServerError, "Could not read the entry.", fmt.Errorf("cacheadmin: entry %q: %w", key, err))
		return e, false
	case !found:
		fail(w, r, http.StatusNotFound, fmt.Sprintf("No entry under key %q: it was deleted, or never set.", key), nil)
		return e, false
	}
	return e, true
}

func (s *server) entry(w http.ResponseWriter, r *http.Request) {
	item, ok := s.lookup(w, r, false)
	if !ok {
		return
	}
	now := s.now()
	d := entryData{
		Key:     item.Key,
		ID:      item.ID,
		Status:  string(item.Status),
		Created: makeStamp(item.CreatedAt, now),
		Updated: makeStamp(item.UpdatedAt, now),
		Size:    humanSize(item.Size),
		RawURL:  "entry/raw?key=" + queryEscape(item.Key),
		Tags:    tagLinks(item.Tags),
		Back:    listState{Status: cache.StatusAll},
	}
	if item.ExpiresAt != nil {
		e := makeStamp(*item.ExpiresAt, now)
		d.Expires = &e
		if k := item.KeepUntil; k != nil && item.ExpiresAt.Before(now) && k.After(now) {
			st := makeStamp(*k, now)
			d.Servable = &st
		}
	}
	out, shown := prettyJSON(item.Value, maxShownValue)
	d.Value = string(out)
	if shown < len(item.Value) {
		d.Truncated, d.Shown = true, humanSize(int64(shown))
	}
	s.render(w, r, http.StatusOK, pageEntry, item.Key, s.takeFlash(w, r), d)
}

// raw sends the stored JSON as a download.
func (s *server) raw(w http.ResponseWriter, r *http.Request) {
	item, ok := s.lookup(w, r, true)
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{
		"filename": "cache-entry-" + strconv.FormatInt(item.ID, 10) + ".json",
	}))
	h.Set("Content-Length", strconv.Itoa(len(item.Value)))
	_, _ = w.Write(item.Value)
}
