package cacheadmin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	cache "github.com/gormcache/cache"
)

// maxFormBytes bounds the body of every request (the Handler's forms are
// a few hundred bytes).
const maxFormBytes = 64 << 10

// flashCookie carries the message a write action leaves for the next page,
// signed with the server's key.
const flashCookie = "gormcache_admin_flash"

// flashMaxAge bounds, in seconds, how long a flash message waits for the
// page it is meant for.
const flashMaxAge = 60

// flash is a one-time message shown at the top of the next page.
type flash struct {
	Kind    string // "ok" or "error"
	Message string
}

func (s *server) secure(r *http.Request) bool { return r.TLS != nil || s.opts.BehindTLSProxy }

// flashMAC is the signature of a flash cookie's payload.
func (s *server) flashMAC(payload string) []byte {
	m := hmac.New(sha256.New, s.flashKey)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

func (s *server) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(f.Kind + "\n" + f.Message))
	value := payload + "." + base64.RawURLEncoding.EncodeToString(s.flashMAC(payload))
	http.SetCookie(w, newCookie(flashCookie, value, flashMaxAge, s.secure(r)))
}

// takeFlash returns the flash message of the request, if any and signed by
// this server, and deletes the cookie.
func (s *server) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	secure := s.secure(r)
	c, err := r.Cookie(cookieName(flashCookie, secure))
	if err != nil {
		return nil
	}
	http.SetCookie(w, newCookie(flashCookie, "", -1, secure))
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return nil
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.flashMAC(payload)) {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(string(b), "\n")
	if !ok || (kind != "ok" && kind != "error") {
		return nil
	}
	return &flash{Kind: kind, Message: msg}
}

// seeOther redirects to a URL relative to the mount point's directory. It
// sets Location itself: http.Redirect would make it absolute from the path
// that http.StripPrefix left, losing the prefix.
func seeOther(w http.ResponseWriter, to string) {
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusSeeOther)
}

// parseWrite checks that writes are allowed and parses the form. It writes
// the error page and returns false when the request cannot go on.
func (s *server) parseWrite(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.ReadOnly {
		s.fail(w, r, http.StatusForbidden, "This admin page is read-only.", nil)
		return false
	}
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		s.fail(w, r, status, "Bad form.", fmt.Errorf("cacheadmin: %s: %w", r.URL.Path, err))
		return false
	}
	return true
}

// back is the list page that a write action returns to: the form's status
// and q fields, as the list page sent them.
func back(r *http.Request) string {
	status, err := cache.ParseStatus(r.PostFormValue("status"))
	if err != nil {
		status = cache.StatusAll
	}
	return listState{Status: status, Query: r.PostFormValue("q")}.url()
}

func (s *server) delete(w http.ResponseWriter, r *http.Request) {
	if !s.parseWrite(w, r) {
		return
	}
	key := r.PostFormValue("key")
	deleted, err := cache.Cached(s.db.WithContext(r.Context()), key).Delete()
	switch {
	case errors.Is(err, cache.ErrInvalidKey):
		s.setFlash(w, r, flash{"error", fmt.Sprintf("Not deleted: %q is not a valid key.", key)})
	case err != nil:
		err = fmt.Errorf("cacheadmin: delete %q: %w", key, err)
		s.log(r, err)
		s.setFlash(w, r, flash{"error", "Not deleted: " + err.Error()})
	case !deleted:
		s.setFlash(w, r, flash{"error", fmt.Sprintf("No entry under key %q: it was already gone.", key)})
	default:
		s.setFlash(w, r, flash{"ok", fmt.Sprintf("Deleted %q.", key)})
	}
	seeOther(w, back(r))
}

func (s *server) clearExpired(w http.ResponseWriter, r *http.Request) {
	if !s.parseWrite(w, r) {
		return
	}
	n, err := cache.ClearExpired(s.db.WithContext(r.Context()))
	if err != nil {
		err = fmt.Errorf("cacheadmin: clear expired: %w", err)
		s.log(r, err)
		s.setFlash(w, r, flash{"error", fmt.Sprintf("Cleared %s before an error: %v", entries(n), err)})
	} else {
		s.setFlash(w, r, flash{"ok", fmt.Sprintf("Cleared %s.", expiredEntries(n))})
	}
	seeOther(w, back(r))
}

// confirmData is the data of the clear-all confirmation page.
type confirmData struct {
	Total int64
}

func (s *server) confirmClearAll(w http.ResponseWriter, r *http.Request) {
	if s.opts.ReadOnly {
		s.fail(w, r, http.StatusForbidden, "This admin page is read-only.", nil)
		return
	}
	st, err := cache.Stats(s.db.WithContext(r.Context()))
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Could not count the entries.", fmt.Errorf("cacheadmin: clear all: %w", err))
		return
	}
	s.render(w, r, http.StatusOK, pageConfirm, "Clear all", nil, confirmData{Total: st.Total})
}

func (s *server) clearAll(w http.ResponseWriter, r *http.Request) {
	if !s.parseWrite(w, r) {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		seeOther(w, "clear-all") // the confirmation step
		return
	}
	n, err := cache.Clear(s.db.WithContext(r.Context()))
	if err != nil {
		err = fmt.Errorf("cacheadmin: clear all: %w", err)
		s.log(r, err)
		s.setFlash(w, r, flash{"error", "Nothing cleared: " + err.Error()})
	} else {
		s.setFlash(w, r, flash{"ok", fmt.Sprintf("Cleared all %s.", entries(n))})
	}
	seeOther(w, "./")
}

func entries(n int64) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

func expiredEntries(n int64) string {
	if n == 1 {
		return "1 expired entry"
	}
	return fmt.Sprintf("%d expired entries", n)
}

// queryEscape escapes s for a URL query.
func queryEscape(s string) string { return url.QueryEscape(s) }
