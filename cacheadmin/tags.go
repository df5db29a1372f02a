package cacheadmin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// tagLink is one tag of an entry, linking to the list filtered by it.
type tagLink struct {
	Name string
	URL  string
}

func tagLinks(tags []string) []tagLink {
	links := make([]tagLink, len(tags))
	for i, t := range tags {
		links[i] = tagLink{Name: t, URL: listState{Status: cache.StatusAll, Tag: t}.url()}
	}
	return links
}

// groupData is the data of the confirmation page of a group deletion.
type groupData struct {
	Title, What   string // "Invalidate this tag?", "tagged"
	Action, Field string // the form's action and the field holding Value
	Value         string
	Count         int64
}

// usableText reports whether s can be a tag or a key prefix: PostgreSQL
// refuses invalid UTF-8 and NUL as parameters.
func usableText(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// countEntries counts the entries that opts lists, a page at a time.
func countEntries(db *gorm.DB, opts cache.ListOptions) (int64, error) {
	var n int64
	opts.Limit = 1000
	for {
		p, err := cache.List(db, opts)
		if err != nil {
			return n, err
		}
		n += int64(len(p.Entries))
		if p.Next == "" {
			return n, nil
		}
		opts.After = p.Next
	}
}

// confirmGroup shows how many entries a tag or prefix deletion would delete
// and asks for confirmation (GET invalidate-tag?tag=, delete-prefix?prefix=).
func (s *server) confirmGroup(byTag bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.ReadOnly {
			s.fail(w, r, http.StatusForbidden, "This admin page is read-only.", nil)
			return
		}
		d := groupData{Title: "Delete the keys with this prefix?", What: "whose key starts with",
			Action: "delete-prefix", Field: "prefix"}
		if byTag {
			d = groupData{Title: "Invalidate this tag?", What: "tagged", Action: "invalidate-tag", Field: "tag"}
		}
		d.Value = r.URL.Query().Get(d.Field)
		if d.Value == "" {
			seeOther(w, "./") // nothing asked: back to the list, whose forms ask
			return
		}
		if !usableText(d.Value) {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Give a %s: non-empty, valid UTF-8, without NUL.", d.Field), nil)
			return
		}
		opts := cache.ListOptions{Prefix: d.Value}
		if byTag {
			opts = cache.ListOptions{Tag: d.Value}
		}
		var err error
		if d.Count, err = countEntries(s.db.WithContext(r.Context()), opts); err != nil {
			s.fail(w, r, http.StatusInternalServerError, "Could not count the entries.", fmt.Errorf("cacheadmin: %s: %w", d.Action, err))
			return
		}
		s.render(w, r, http.StatusOK, pageConfirmGroup, d.Title, nil, d)
	}
}

// deleteGroup runs a confirmed tag or prefix deletion (POST).
func (s *server) deleteGroup(byTag bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.parseWrite(w, r) {
			return
		}
		field, action := "prefix", "delete-prefix"
		if byTag {
			field, action = "tag", "invalidate-tag"
		}
		value := r.PostFormValue(field)
		if r.PostFormValue("confirm") != "yes" {
			seeOther(w, action+"?"+field+"="+queryEscape(value)) // the confirmation step
			return
		}
		db := s.db.WithContext(r.Context())
		var n int64
		var err error
		if byTag {
			n, err = cache.InvalidateTags(db, value)
		} else {
			n, err = cache.DeletePrefix(db, value)
		}
		switch {
		case errors.Is(err, cache.ErrInvalidTag), errors.Is(err, cache.ErrInvalidKey):
			s.setFlash(w, r, flash{"error", fmt.Sprintf("Nothing deleted: %q is not a valid %s.", value, field)})
		case err != nil:
			err = fmt.Errorf("cacheadmin: %s %q: %w", action, value, err)
			s.log(r, err)
			s.setFlash(w, r, flash{"error", "Nothing deleted: " + err.Error()})
		case byTag:
			s.setFlash(w, r, flash{"ok", fmt.Sprintf("Deleted %s tagged %q.", entries(n), value)})
		default:
			s.setFlash(w, r, flash{"ok", fmt.Sprintf("Deleted %s whose key starts with %q.", entries(n), value)})
		}
		seeOther(w, "./")
	}
}
