package cacheadmin

import (
	"errors"
	"fmt"
	"net/http"

	cache "github.com/gormcache/cache"
)

const (
	pageLocks  = "locks.html"
	pageUnlock = "unlock.html"
)

// lockRow is one line of the locks page.
type lockRow struct {
	Name      string
	Owner     string
	Acquired  stamp
	Expires   stamp
	UnlockURL string
}

// lockRoutes adds the locks page and its force release, which asks for
// confirmation on a page of its own before the POST.
func (s *server) lockRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /locks", s.locks)
	mux.HandleFunc("GET /unlock", s.confirmUnlock)
	mux.HandleFunc("POST /unlock", s.unlock)
}

func (s *server) locks(w http.ResponseWriter, r *http.Request) {
	locks, err := cache.ListLocks(s.db.WithContext(r.Context()))
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Could not list the locks.", fmt.Errorf("cacheadmin: locks: %w", err))
		return
	}
	now := s.now()
	rows := make([]lockRow, len(locks))
	for i, l := range locks {
		rows[i] = lockRow{
			Name: l.Name, Owner: l.Owner,
			Acquired: makeStamp(l.AcquiredAt, now), Expires: makeStamp(l.ExpiresAt, now),
			UnlockURL: "unlock?name=" + queryEscape(l.Name),
		}
	}
	s.render(w, r, http.StatusOK, pageLocks, "Locks", s.takeFlash(w, r), rows)
}

func (s *server) confirmUnlock(w http.ResponseWriter, r *http.Request) {
	if s.opts.ReadOnly {
		s.fail(w, r, http.StatusForbidden, "This admin page is read-only.", nil)
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		s.fail(w, r, http.StatusBadRequest, "Missing name parameter.", nil)
		return
	}
	s.render(w, r, http.StatusOK, pageUnlock, "Release lock", nil, name)
}

func (s *server) unlock(w http.ResponseWriter, r *http.Request) {
	if !s.parseWrite(w, r) {
		return
	}
	name := r.PostFormValue("name")
	if r.PostFormValue("confirm") != "yes" {
		seeOther(w, "unlock?name="+queryEscape(name)) // the confirmation step
		return
	}
	released, err := cache.ForceReleaseLock(s.db.WithContext(r.Context()), name)
	switch {
	case errors.Is(err, cache.ErrInvalidKey):
		s.setFlash(w, r, flash{"error", fmt.Sprintf("Not released: %q is not a valid lock name.", name)})
	case err != nil:
		err = fmt.Errorf("cacheadmin: unlock %q: %w", name, err)
		s.log(r, err)
		s.setFlash(w, r, flash{"error", "Not released: " + err.Error()})
	case !released:
		s.setFlash(w, r, flash{"error", fmt.Sprintf("Lock %q was not held: it was released or ran out.", name)})
	default:
		s.setFlash(w, r, flash{"ok", fmt.Sprintf("Released lock %q.", name)})
	}
	seeOther(w, "locks")
}
