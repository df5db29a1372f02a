package cacheadmin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/dialect"
)

// tagLink is one tag of an entry, linking to the list filtered by it.
type tagLink struct {
	Name string
	URL  string
}

// tagLinks decodes an entry's tags column.
func tagLinks(raw cache.JSON) []tagLink {
	var tags []string
	if len(raw) == 0 || json.Unmarshal(raw, &tags) != nil {
		return nil
	}
	links := make([]tagLink, len(tags))
	for i, t := range tags {
		links[i] = tagLink{Name: t, URL: listState{Status: statusAll, Tag: t}.url()}
	}
	return links
}

// groupData is the data of the confirmation page of a group deletion.
type groupData struct {
	Title, What   string // "Invalidate a tag?", "tagged"
	Action, Field string // the form's action and the field holding Value
	Value         string
	Count         int64
}

// usableText reports whether s can be a tag or a key prefix: PostgreSQL
// refuses invalid UTF-8 and NUL as parameters.
func usableText(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// withTag filters a list query to the entries that carry tag.
func withTag(db, tx *gorm.DB, tag string) *gorm.DB {
	return tx.Where(dialect.HasTag(db.Dialector.Name()), tag)
}

// withPrefix filters a list query to the keys that start with prefix.
func withPrefix(tx *gorm.DB, prefix string) *gorm.DB {
	return tx.Where(`substr("cached_items"."key", 1, ?) = ?`, utf8.RuneCountInString(prefix), prefix)
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
		db := s.db.WithContext(r.Context())
		tx := db.Model(&cache.CachedItem{})
		if byTag {
			tx = withTag(db, tx, d.Value)
		} else {
			tx = withPrefix(tx, d.Value)
		}
		if err := tx.Count(&d.Count).Error; err != nil {
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
