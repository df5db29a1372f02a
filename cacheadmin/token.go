package cacheadmin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// TokenParam is the query parameter that carries the token of a TokenAuth
// in the URL a person opens first.
const TokenParam = "token"

// sessionCookie holds the session secret that the token is exchanged for.
const sessionCookie = "gormcache_admin_session"

// SessionLifetime is how long a session of a TokenAuth lasts from sign-in.
// It ends sooner on sign-out, and with the TokenAuth (when Serve returns).
const SessionLifetime = 12 * time.Hour

// minTokenLength is the shortest token NewTokenAuth accepts.
const minTokenLength = 16

// TokenAuth guards a handler with a secret token, for a page served where
// the app has no sessions of its own, such as `gormcache admin`. The token
// signs in once: the first request carries it in the URL (/?token=…), and
// TokenAuth.Handler exchanges it for a session, a separate random secret
// kept in an HttpOnly cookie, and redirects to the same URL without the
// token. From then on TokenAuth.Authorize accepts the requests that carry
// the session's cookie, for [SessionLifetime] or until a POST to sign-out
// ends it. The token is spent by that first exchange: opening the URL again
// signs no one in, so a token that leaks later (from a terminal's
// scrollback, say) is worth nothing. Wire both:
//
//	auth, err := cacheadmin.NewTokenAuth(token)
//	h := auth.Handler(cacheadmin.Handler(db, cacheadmin.Options{Authorize: auth.Authorize}))
//
// The token and the cookie travel in clear text over plain HTTP: serve on a
// loopback address or behind TLS. The cookie is Secure, and named with the
// __Host- prefix, when the request came over TLS or BehindTLSProxy is set.
// A TokenAuth is safe for concurrent use by multiple goroutines.
type TokenAuth struct {
	// BehindTLSProxy says that a proxy in front of the page terminates TLS,
	// so that the session cookie is marked Secure although the requests
	// reach the page over plain HTTP. Set it before the first request.
	// Defaults to false.
	BehindTLSProxy bool

	token string
	now   func() time.Time

	mu    sync.Mutex
	spent bool // the token signed in once
	// sessions maps the SHA-256 of each session secret to its expiry: a
	// map lookup by hash leaks no timing about the secret itself.
	sessions map[[sha256.Size]byte]time.Time
}

// NewTokenAuth returns a TokenAuth for token, which must be at least 16
// characters long and may hold only URL-safe characters (A–Z, a–z, 0–9, -,
// _, ., ~), as NewToken's do.
func NewTokenAuth(token string) (*TokenAuth, error) {
	if len(token) < minTokenLength {
		return nil, fmt.Errorf("cacheadmin: token auth: token shorter than %d characters", minTokenLength)
	}
	for _, c := range []byte(token) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0) {
			return nil, fmt.Errorf("cacheadmin: token auth: token holds %q, which is not URL-safe", c)
		}
	}
	return &TokenAuth{token: token, now: time.Now, sessions: map[[sha256.Size]byte]time.Time{}}, nil
}

// NewToken returns a random token of 26 characters (128 bits from
// crypto/rand) for NewTokenAuth.
func NewToken() string {
	return rand.Text()
}

// Authorize reports whether r carries the cookie of a live session. Use it
// as Options.Authorize.
func (a *TokenAuth) Authorize(r *http.Request) bool {
	c, err := r.Cookie(cookieName(sessionCookie, a.secure(r)))
	if err != nil {
		return false
	}
	id := sha256.Sum256([]byte(c.Value))
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.sessions[id]
	if ok && !a.clock().Before(exp) {
		delete(a.sessions, id)
		return false
	}
	return ok
}

func (a *TokenAuth) clock() time.Time {
	if a.now == nil {
		return time.Now()
	}
	return a.now()
}

func (a *TokenAuth) secure(r *http.Request) bool { return r.TLS != nil || a.BehindTLSProxy }

// matches reports whether s is the token. A TokenAuth not made by
// NewTokenAuth has none, and matches nothing.
func (a *TokenAuth) matches(s string) bool {
	return a.token != "" && subtle.ConstantTimeCompare([]byte(s), []byte(a.token)) == 1
}

// signIn spends the token and starts a session, or reports false when the
// token was spent already.
func (a *TokenAuth) signIn() (secret string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.spent {
		return "", false
	}
	a.spent = true
	secret = rand.Text()
	if a.sessions == nil {
		a.sessions = map[[sha256.Size]byte]time.Time{}
	}
	a.sessions[sha256.Sum256([]byte(secret))] = a.clock().Add(SessionLifetime)
	return secret, true
}

// signOut ends the session of r's cookie, if any.
func (a *TokenAuth) signOut(r *http.Request) {
	c, err := r.Cookie(cookieName(sessionCookie, a.secure(r)))
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, sha256.Sum256([]byte(c.Value)))
}

// signOutPath is the last path segment of the sign-out route, next to the
// page's own routes.
const signOutPath = "sign-out"

// signOutKey marks, in a request's context, a page behind a TokenAuth, so
// that it shows the sign-out button.
type signOutKey struct{}

// Handler returns next behind the token exchange and the sign-out route:
//
//   - a GET or HEAD request whose token query parameter matches, the first
//     time, gets a session cookie and a 303 redirect to its own URL without
//     the parameter, so the token leaves the address bar and the history;
//   - a POST to sign-out (next to the page's routes, from the same origin)
//     ends the request's session and clears its cookie.
//
// Every other request, a wrong or spent token included, goes to next, whose
// Authorize decides.
func (a *TokenAuth) Handler(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && path.Base("/"+r.URL.Path) == signOutPath {
			setSecurityHeaders(w.Header())
			if err := cop.Check(r); err != nil {
				http.Error(w, "403 Forbidden: cross-origin sign-out refused", http.StatusForbidden)
				return
			}
			a.signOut(r)
			http.SetCookie(w, newCookie(sessionCookie, "", -1, a.secure(r)))
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "Signed out of the cache admin page. Its sign-in link worked once: "+
				"restart the server (gormcache admin) for a new one.\n")
			return
		}
		q := r.URL.Query()
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !q.Has(TokenParam) || !a.matches(q.Get(TokenParam)) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), signOutKey{}, true)))
			return
		}
		setSecurityHeaders(w.Header())
		q.Del(TokenParam)
		// Relative, so that it works under any prefix: the last segment of
		// the path, or "./" for a directory.
		to := "./" + r.URL.EscapedPath()[strings.LastIndexByte(r.URL.EscapedPath(), '/')+1:]
		if len(q) > 0 {
			to += "?" + q.Encode()
		}
		if secret, ok := a.signIn(); ok {
			http.SetCookie(w, newCookie(sessionCookie, secret, int(SessionLifetime/time.Second), a.secure(r)))
		} else if !a.Authorize(r) {
			http.Error(w, "403 Forbidden: this sign-in link was used already; it works once. "+
				"Restart the server (gormcache admin) for a new one.", http.StatusForbidden)
			return
		}
		seeOther(w, to)
	})
}

// cookieName is the name of cookie base: with the __Host- prefix when
// secure, which binds it to this host, Secure and Path=/ (newCookie).
func cookieName(base string, secure bool) string {
	if secure {
		return "__Host-" + base
	}
	return base
}

// newCookie returns an HttpOnly, SameSite=Lax cookie. A secure one is
// Secure, prefixed __Host- and has Path=/, as the prefix demands; the
// others have no Path, so the browser scopes them to the directory of the
// URL that set them (RFC 6265 default-path), whatever the mount prefix.
// maxAge is in seconds; negative deletes the cookie.
func newCookie(base, value string, maxAge int, secure bool) *http.Cookie {
	c := &http.Cookie{
		Name:     cookieName(base, secure),
		Value:    value,
		MaxAge:   maxAge,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if secure {
		c.Secure, c.Path = true, "/"
	}
	return c
}

// serverLimits are the timeouts and sizes of Serve's http.Server.
type serverLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}

// serveLimits are Serve's limits, suited to a page of small requests: a
// client gets 10 s for the headers and 30 s for the whole request (forms
// are a few bytes), a response may take 2 min (a large raw download), and
// an idle keep-alive connection is closed after a minute, so that no one
// holds connections open before or after authorization.
func serveLimits() serverLimits {
	return serverLimits{
		readHeader:     10 * time.Second,
		read:           30 * time.Second,
		write:          2 * time.Minute,
		idle:           time.Minute,
		maxHeaderBytes: 16 << 10,
	}
}

// Serve serves the admin page of db on addr, such as "127.0.0.1:8080", until
// ctx is done, then shuts the server down and returns nil. It guards the
// page with a TokenAuth of a NewToken and, once it listens, writes the URL to
// open (which carries the token, good for one sign-in) to w, one line, with
// the address it listens on:
//
//	Cache admin page: http://127.0.0.1:8080/?token=…
//
// It sets opts.Authorize to the session check; an Authorize already in opts
// must pass as well. opts.BehindTLSProxy also marks the session cookie
// Secure. The server bounds every connection: 10 s to send the headers
// (at most 16 KiB), 30 s for the whole request, 2 min for the response,
// 1 min idle between requests. It returns an error when it cannot listen
// or the server fails. This is what `gormcache admin` runs.
func Serve(ctx context.Context, db *gorm.DB, addr string, opts Options, w io.Writer) error {
	return serve(ctx, db, addr, opts, w, serveLimits())
}

func serve(ctx context.Context, db *gorm.DB, addr string, opts Options, w io.Writer, limits serverLimits) error {
	auth, err := NewTokenAuth(NewToken())
	if err != nil {
		return fmt.Errorf("cacheadmin: serve: %w", err)
	}
	auth.BehindTLSProxy = opts.BehindTLSProxy
	if extra := opts.Authorize; extra != nil {
		opts.Authorize = func(r *http.Request) bool { return auth.Authorize(r) && extra(r) }
	} else {
		opts.Authorize = auth.Authorize
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cacheadmin: serve: %w", err)
	}
	srv := &http.Server{
		Handler:           auth.Handler(Handler(db, opts)),
		ReadHeaderTimeout: limits.readHeader,
		ReadTimeout:       limits.read,
		WriteTimeout:      limits.write,
		IdleTimeout:       limits.idle,
		MaxHeaderBytes:    limits.maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if _, err := fmt.Fprintf(w, "Cache admin page: http://%s/?%s=%s\n", ln.Addr(), TokenParam, auth.token); err != nil {
		_ = srv.Close()
		<-served
		return fmt.Errorf("cacheadmin: serve: write URL: %w", err)
	}
	select {
	case err := <-served:
		return fmt.Errorf("cacheadmin: serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("cacheadmin: serve: shut down: %w", err)
	}
	return nil
}
