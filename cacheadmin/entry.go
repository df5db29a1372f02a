package cacheadmin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// maxShownValue is how much of the pretty-printed value the detail page
// shows; the raw JSON link has all of it.
const maxShownValue = 64 << 10

// entryData is the data of the detail page.
type entryData struct {
	Key       string
	ID        int64
	Status    string
	Expires   *stamp // nil: never
	Created   stamp
	Updated   stamp
	Size      string
	Value     string // pretty-printed, maybe truncated
	Truncated bool
	Shown     string // size of the shown part when truncated
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
func (s *server) lookup(w http.ResponseWriter, r *http.Request, plain bool) (cache.CachedItem, bool) {
	var item cache.CachedItem
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
		return item, false
	}
	if !utf8.ValidString(key) || strings.ContainsRune(key, 0) {
		fail(w, r, http.StatusNotFound, "No entry has this key: keys are valid UTF-8 without NUL.", nil)
		return item, false
	}
	err := s.db.WithContext(r.Context()).Where(`"cached_items"."key" = ?`, key).Take(&item).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		fail(w, r, http.StatusNotFound, fmt.Sprintf("No entry under key %q: it was deleted, or never set.", key), nil)
		return item, false
	case err != nil:
		fail(w, r, http.StatusInternalServerError, "Could not read the entry.", fmt.Errorf("cacheadmin: entry %q: %w", key, err))
		return item, false
	}
	return item, true
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
		Status:  statusOf(item.ExpiresAt, now),
		Created: makeStamp(item.CreatedAt, now),
		Updated: makeStamp(item.UpdatedAt, now),
		Size:    humanSize(int64(len(item.Value))),
		RawURL:  "entry/raw?key=" + queryEscape(item.Key),
		Back:    listState{Status: statusAll},
	}
	if item.ExpiresAt != nil {
		e := makeStamp(*item.ExpiresAt, now)
		d.Expires = &e
		if k := item.KeepUntil; k != nil && item.ExpiresAt.Before(now) && k.After(now) {
			st := makeStamp(*k, now)
			d.Servable = &st
		}
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, item.Value, "", "  "); err != nil {
		buf.Reset()
		buf.Write(item.Value)
	}
	if buf.Len() > maxShownValue {
		b := buf.Bytes()[:maxShownValue]
		for len(b) > 0 && !utf8.Valid(b) { // cut at a character boundary
			b = b[:len(b)-1]
		}
		d.Value, d.Truncated, d.Shown = string(b), true, humanSize(int64(len(b)))
	} else {
		d.Value = buf.String()
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
