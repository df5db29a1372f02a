// Package cacheadmin is the admin page of gormcache: an http.Handler that
// lists the entries of the cache table, shows one entry's value, and deletes
// entries, so that a person can find out why a value is stale.
//
// # Mounting
//
// Mount the handler under any prefix with http.StripPrefix; every link it
// renders is relative, so it works wherever it is mounted:
//
//	mux.Handle("/admin/cache/", http.StripPrefix("/admin/cache",
//		cacheadmin.Handler(db, cacheadmin.Options{Authorize: isAdmin})))
//
// # Authorization
//
// The page can delete every entry, so it is closed by default: without
// [Options].Authorize every request gets 403 Forbidden. Plug in the app's
// own session or auth check:
//
//	cacheadmin.Options{Authorize: func(r *http.Request) bool {
//		user, ok := currentUser(r) // the app's session lookup
//		return ok && user.IsAdmin
//	}}
//
// or wrap the handler in the app's auth middleware and set Authorize to
// [AllowAll], which is also the opt-in for local development. Where the app
// has no sessions, [TokenAuth] guards the page with a random token in the
// first URL, good for one sign-in, and a session cookie after that (for
// [SessionLifetime], or until POST sign-out); [Serve] runs a server that
// way, as the `gormcache admin` command does.
//
// # Routes
//
// Relative to the mount point:
//
//	GET  /                  the list; query parameters status (all, live,
//	                        unexpired, expired, forever), q (key search) and
//	                        after (keyset cursor: a page's cache.Page.Next)
//	GET  /entry?key=…       one entry, live or expired
//	GET  /entry/raw?key=…   its stored JSON, as a download
//	GET  /clear-all         the confirmation step of clear all
//	POST /delete            delete the entry of form field key
//	POST /clear-expired     cache.ClearExpired
//	POST /clear-all         cache.Clear; needs form field confirm=yes
//
// The list is cache.List: the newest entries (highest ID) first, paged with
// a keyset cursor, never OFFSET. Its status words are those of
// cache.Status: each entry's badge says unexpired (an expiry still to
// come), expired (reads no longer see it) or forever (no expiry), and the
// Live tab shows what reads see, unexpired and forever together. The key
// search matches a substring, ignoring ASCII case, and takes %, _ and \
// literally. The page uses the cache package's API only.
//
// # Security
//
// Writes are POST only, refused in [Options].ReadOnly mode, and protected
// against cross-site requests by [http.CrossOriginProtection], which checks
// the Sec-Fetch-Site and Origin headers (no form tokens). They redirect back
// with a one-time flash message carried in a cookie. Every response sends
// Content-Security-Policy "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
// X-Content-Type-Options nosniff and Referrer-Policy same-origin; the page
// has no script at all and its one stylesheet is embedded in the binary, so
// it works offline. Keys and values are HTML-escaped by html/template.
package cacheadmin
