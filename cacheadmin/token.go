package cacheadmin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"
)

// TokenParam is the query parameter that carries the token of a TokenAuth
// in the URL a person opens first.
const TokenParam = "token"

// tokenCookie holds the token after the first request. It has no Path, so
// the browser scopes it to the directory of the URL that set it.
const tokenCookie = "gormcache_admin_token"

// minTokenLength is the shortest token NewTokenAuth accepts.
const minTokenLength = 16

// TokenAuth guards a handler with a secret token, for a page served where
// the app has no sessions of its own, such as `gormcache admin`: the first
// request carries the token in the URL (/?token=…); TokenAuth.Handler
// exchanges it for an HttpOnly cookie and redirects to the same URL without
// it, and from then on TokenAuth.Authorize accepts the requests that carry
// the cookie. Wire both:
//
//	auth, err := cacheadmin.NewTokenAuth(token)
//	h := auth.Handler(cacheadmin.Handler(db, cacheadmin.Options{Authorize: auth.Authorize}))
//
// The token travels in clear text over plain HTTP: serve on a loopback
// address or behind TLS. A TokenAuth is safe for concurrent use by multiple
// goroutines.
type TokenAuth struct {
	token string
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
	return &TokenAuth{token: token}, nil
}

// NewToken returns a random token of 26 characters (128 bits from
// crypto/rand) for NewTokenAuth.
func NewToken() string {
	return rand.Text()
}

// Authorize reports whether r carries the token's cookie. Use it as
// Options.Authorize.
func (a *TokenAuth) Authorize(r *http.Request) bool {
	c, err := r.Cookie(tokenCookie)
	return err == nil && a.matches(c.Value)
}

func (a *TokenAuth) matches(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), []byte(a.token)) == 1
}

// Handler returns next behind the token exchange: a GET or HEAD request
// whose token query parameter matches gets the cookie and a 303 redirect to
// its own URL without the parameter, so the token leaves the address bar and
// the history. Every other request, a wrong token included, goes to next,
// whose Authorize decides.
func (a *TokenAuth) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !q.Has(TokenParam) || !a.matches(q.Get(TokenParam)) {
			next.ServeHTTP(w, r)
			return
		}
		setSecurityHeaders(w.Header())
		http.SetCookie(w, &http.Cookie{
			Name:     tokenCookie,
			Value:    a.token,
			HttpOnly: true,
			Secure:   r.TLS != nil,
			SameSite: http.SameSiteLaxMode,
		})
		q.Del(TokenParam)
		// Relative, so that it works under any prefix: the last segment of
		// the path, or "./" for a directory.
		to := "./" + r.URL.EscapedPath()[strings.LastIndexByte(r.URL.EscapedPath(), '/')+1:]
		if len(q) > 0 {
			to += "?" + q.Encode()
		}
		seeOther(w, to)
	})
}

// Serve serves the admin page of db on addr, such as "127.0.0.1:8080", until
// ctx is done, then shuts the server down and returns nil. It guards the
// page with a TokenAuth of a NewToken and, once it listens, writes the URL to
// open (which carries the token) to w, one line:
//
//	Cache admin page: http://127.0.0.1:8080/?token=…
//
// It sets opts.Authorize to the token check; an Authorize already in opts
// must pass as well. It returns an error when it cannot listen or the server
// fails. This is what `gormcache admin` runs.
func Serve(ctx context.Context, db *gorm.DB, addr string, opts Options, w io.Writer) error {
	auth, err := NewTokenAuth(NewToken())
	if err != nil {
		return fmt.Errorf("cacheadmin: serve: %w", err)
	}
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
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if _, err := fmt.Fprintf(w, "Cache admin page: http://%s/?%s=%s\n", displayAddr(ln.Addr()), TokenParam, auth.token); err != nil {
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

// displayAddr is the host:port to open in a browser: an unspecified listen
// address (":8080", "0.0.0.0:8080") becomes localhost.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", fmt.Sprint(tcp.Port))
	}
	return tcp.String()
}
