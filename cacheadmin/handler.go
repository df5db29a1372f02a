package cacheadmin

import (
	"bytes"
	"crypto/rand"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Options configures Handler. The zero value is valid but denies every
// request: set Authorize.
type Options struct {
	// Authorize reports whether a request may use the admin page. It is
	// called for every request, reads and writes alike, before anything
	// else runs. Plug in the app's own session check here, for example
	//
	//	Authorize: func(r *http.Request) bool {
	//		u, ok := sessions.User(r.Context())
	//		return ok && u.IsAdmin
	//	}
	//
	// Defaults to nil, which denies every request with 403 Forbidden. Use
	// [AllowAll] to opt out of the check, for local development only.
	Authorize func(*http.Request) bool

	// ReadOnly hides the delete and clear actions and refuses their POST
	// routes with 403 Forbidden. Defaults to false.
	ReadOnly bool

	// PageSize is how many entries one list page shows, at most 1000.
	// Defaults to 50.
	PageSize int

	// Table names the cache table, for a cache kept in a table of its own
	// (as with db.Table). Defaults to "": the table of db's session,
	// cached_items unless db was made with db.Table.
	Table string

	// Title is the page heading and the start of every page title.
	// Defaults to "Cache".
	Title string

	// BehindTLSProxy says that a proxy in front of the page terminates TLS:
	// the page's cookies are then Secure (and named with the __Host-
	// prefix) although requests reach it over plain HTTP, as they are for
	// requests that come over TLS. Leave it false when the page may be
	// reached over plain HTTP, or the browser drops the cookies. Defaults
	// to false.
	BehindTLSProxy bool

	// Logger receives the errors that make a page fail with 500 Internal
	// Server Error (the page shows them too). Defaults to nil: no logging.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
	defaultTitle    = "Cache"
)

// AllowAll authorizes every request. Set it as Options.Authorize only where
// no one else can reach the page, such as local development: the page can
// delete every entry.
func AllowAll(*http.Request) bool { return true }

// contentSecurityPolicy forbids inline scripts and styles, framing, forms
// that post elsewhere and a <base> that would redirect relative links.
const contentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// The pages, each a template file executed inside layout.html.
const (
	pageList    = "list.html"
	pageEntry   = "entry.html"
	pageConfirm = "confirm.html"
	// pageConfirmGroup confirms InvalidateTags and DeletePrefix (tags.go).
	pageConfirmGroup = "confirm-group.html"
	pageError        = "error.html"
)

// server is the admin page of one database.
type server struct {
	db     *gorm.DB
	opts   Options
	now    func() time.Time
	pages  map[string]*template.Template
	static fs.FS
	inner  http.Handler // cross-origin protection around the routes
	// flashKey signs the flash cookie, so that no one else on the host
	// (cookies are not scoped by port) can put words on the page.
	flashKey []byte
}

// Handler returns the admin page of the cache in db, an http.Handler to mount
// under any path prefix with http.StripPrefix:
//
//	mux.Handle("/admin/cache/", http.StripPrefix("/admin/cache",
//		cacheadmin.Handler(db, cacheadmin.Options{Authorize: isAdmin})))
//
// Every link it renders is relative, so it works under any prefix. Each
// request runs its queries on db.WithContext(r.Context()). Without
// opts.Authorize every request gets 403 Forbidden. The handler is safe for
// concurrent use by multiple goroutines.
func Handler(db *gorm.DB, opts Options) http.Handler {
	s, err := newServer(db, opts, time.Now)
	if err != nil {
		// The templates are embedded and parsed by the tests, so this only
		// happens in a broken build; serve the error rather than panic.
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			setSecurityHeaders(w.Header())
			http.Error(w, err.Error(), http.StatusInternalServerError)
		})
	}
	return s
}

func newServer(db *gorm.DB, opts Options, now func() time.Time) (*server, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = defaultPageSize
	}
	opts.PageSize = min(opts.PageSize, maxPageSize)
	if opts.Title == "" {
		opts.Title = defaultTitle
	}
	if opts.Table != "" && db != nil {
		// A session, so that each request starts from the same statement.
		db = db.Table(opts.Table).Session(&gorm.Session{})
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("cacheadmin: static files: %w", err)
	}
	s := &server{db: db, opts: opts, now: now, pages: map[string]*template.Template{}, static: static, flashKey: make([]byte, 32)}
	_, _ = rand.Read(s.flashKey) // never fails (crypto/rand's doc)
	for _, p := range []string{pageList, pageEntry, pageConfirm, pageConfirmGroup, pageError, pageLocks, pageUnlock} {
		t, err := template.New("layout.html").Funcs(template.FuncMap{"show": showHTML, "showValue": showValueHTML}).
			ParseFS(templateFS, "templates/layout.html", "templates/"+p)
		if err != nil {
			return nil, fmt.Errorf("cacheadmin: parse %s: %w", p, err)
		}
		s.pages[p] = t
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.list)
	mux.HandleFunc("GET /entry", s.entry)
	mux.HandleFunc("GET /entry/raw", s.raw)
	mux.HandleFunc("GET /clear-all", s.confirmClearAll)
	mux.HandleFunc("POST /delete", s.delete)
	mux.HandleFunc("POST /clear-expired", s.clearExpired)
	mux.HandleFunc("POST /clear-all", s.clearAll)
	mux.HandleFunc("GET /invalidate-tag", s.confirmGroup(true))
	mux.HandleFunc("POST /invalidate-tag", s.deleteGroup(true))
	mux.HandleFunc("GET /delete-prefix", s.confirmGroup(false))
	mux.HandleFunc("POST /delete-prefix", s.deleteGroup(false))
	mux.HandleFunc("GET /static/{file}", s.staticFile)
	s.lockRoutes(mux)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusForbidden, "Cross-origin request refused: write actions must come from this page.", nil)
	}))
	s.inner = cop.Handler(mux)
	return s, nil
}

// setSecurityHeaders sets the headers that every response carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// ServeHTTP sets the security headers, bounds the request body, checks
// Authorize and routes.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	// The page's forms are small: refuse a large body up front and cut off
	// one that grows past the limit, whatever the app's server allows.
	if r.ContentLength > maxFormBytes {
		http.Error(w, "413 Request Entity Too Large", http.StatusRequestEntityTooLarge)
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	if s.opts.Authorize == nil || !s.opts.Authorize(r) {
		http.Error(w, "403 Forbidden: not authorized for the cache admin page", http.StatusForbidden)
		return
	}
	// http.StripPrefix("/admin/cache/") leaves "" or "entry": route those
	// as "/" and "/entry" instead of letting the mux redirect to the root.
	if !strings.HasPrefix(r.URL.Path, "/") {
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = "/" + u.Path
		if u.RawPath != "" {
			u.RawPath = "/" + u.RawPath
		}
		r2.URL = &u
		r = r2
	}
	s.inner.ServeHTTP(w, r)
}

func (s *server) staticFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if _, err := fs.Stat(s.static, name); err != nil {
		http.NotFound(w, r)
		return
	}
	// The files change only with the binary; let browsers revalidate.
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, s.static, name)
}

// view is what every page template gets.
type view struct {
	Title    string // of the page, after Options.Title
	AppTitle string // Options.Title
	ReadOnly bool
	SignOut  bool // the page is behind a TokenAuth: offer to sign out
	Flash    *flash
	Data     any // the page's own data
}

// render executes page into a buffer first, so a failing template sends a
// clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page, title string, f *flash, data any) {
	full := s.opts.Title
	if title != "" {
		full = title + " · " + s.opts.Title
	}
	var buf bytes.Buffer
	err := s.pages[page].ExecuteTemplate(&buf, "layout", view{
		Title: showText(full), AppTitle: s.opts.Title, ReadOnly: s.opts.ReadOnly, Flash: f, Data: data,
		SignOut: r.Context().Value(signOutKey{}) != nil,
	})
	if err != nil {
		err = fmt.Errorf("cacheadmin: render %s: %w", page, err)
		s.log(r, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorData is the data of the error page.
type errorData struct {
	Status  int
	Text    string
	Message string
}

// fail renders the error page. A non-nil err is logged and its text shown:
// the reader is an authorized administrator.
func (s *server) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	if err != nil {
		s.log(r, err)
		msg = msg + " " + err.Error()
	}
	s.render(w, r, status, pageError, http.StatusText(status), nil, errorData{
		Status: status, Text: http.StatusText(status), Message: msg,
	})
}

func (s *server) log(r *http.Request, err error) {
	if s.opts.Logger != nil {
		s.opts.Logger.ErrorContext(r.Context(), "cache admin page", "method", r.Method, "path", r.URL.Path, "error", err)
	}
}
