package cacheadmin

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gormcache/cache/internal/cachetest"
)

func TestNewTokenAuthRejectsWeakTokens(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "short", "fifteen-chars-x", "has space in it 123", "percent%sign-0123456", "ünicode-token-0123456"} {
		_, err := NewTokenAuth(bad)
		require.Error(t, err, bad)
		require.True(t, strings.HasPrefix(err.Error(), "cacheadmin: token auth: "), err.Error())
	}
	tok := NewToken()
	require.Len(t, tok, 26)
	require.NotEqual(t, tok, NewToken())
	_, err := NewTokenAuth(tok)
	require.NoError(t, err)
}

func TestTokenAuth(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	seed(t, b.DB, live, "k")
	const token = "0123456789abcdef-TOKEN"
	newAuth := func() (*TokenAuth, http.Handler) {
		auth, err := NewTokenAuth(token)
		require.NoError(t, err)
		return auth, auth.Handler(Handler(b.DB, Options{Authorize: auth.Authorize}))
	}
	auth, h := newAuth()

	// Without the cookie nothing is served, whatever the token parameter.
	for _, target := range []string{"/", "/entry?key=k", "/?token=wrong-token-0123456", "/?token="} {
		res, _ := get(t, h, target)
		require.Equal(t, http.StatusForbidden, res.StatusCode, target)
		require.Empty(t, res.Cookies(), target)
	}
	res, _ := do(t, h, http.MethodPost, "/clear-all?token="+token, nil, sameOrigin)
	require.Equal(t, http.StatusForbidden, res.StatusCode, "the token is exchanged on GET only")

	// The right token, under any path, sets a session cookie and redirects
	// to the URL without the token.
	for target, location := range map[string]string{
		"/?token=" + token:                        "./",
		"/entry?key=k&token=" + token:             "./entry?key=k",
		"/admin/cache/?token=" + token:            "./",
		"/a/b/entry?token=" + token + "&x=" + "1": "./entry?x=1",
	} {
		_, h := newAuth()
		res, _ := get(t, h, target)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, target)
		require.Equal(t, location, res.Header.Get("Location"), target)
		require.Equal(t, contentSecurityPolicy, res.Header.Get("Content-Security-Policy"))
		cs := res.Cookies()
		require.Len(t, cs, 1)
		require.Equal(t, sessionCookie, cs[0].Name)
		require.Len(t, cs[0].Value, 26)
		require.NotContains(t, cs[0].Value, token, "the cookie holds a session secret, not the token")
		require.True(t, cs[0].HttpOnly)
		require.Equal(t, int(SessionLifetime/time.Second), cs[0].MaxAge)
		require.Empty(t, cs[0].Path, "scoped to the directory of the URL")
		require.False(t, cs[0].Secure, "plain HTTP")
	}

	// A browser follows the redirect with the cookie and keeps it.
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := browserlikeClient(t)
	r, err := c.Get(srv.URL + "/?token=" + token)
	require.NoError(t, err)
	body := readBody(t, r)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Equal(t, srv.URL+"/", r.Request.URL.String(), "the token left the URL")
	require.Equal(t, []string{"k"}, listedKeys(body))
	require.Contains(t, body, `<form class="sign-out" method="post" action="sign-out">`)
	r, err = c.Get(srv.URL + "/entry?key=k")
	require.NoError(t, err)
	_ = readBody(t, r)
	require.Equal(t, http.StatusOK, r.StatusCode)
	// The signed-in browser may open the link again; it lands on the page.
	r, err = c.Get(srv.URL + "/?token=" + token)
	require.NoError(t, err)
	_ = readBody(t, r)
	require.Equal(t, http.StatusOK, r.StatusCode)

	// The token worked once: no one else signs in with it.
	res, body = get(t, h, "/?token="+token)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Contains(t, body, "used already")
	require.Empty(t, res.Cookies())

	// The token itself as the cookie is no session.
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	require.False(t, auth.Authorize(req))

	// Sign-out: refused cross-origin; from the page, it ends the session.
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	var secret string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			secret = ck.Value
		}
	}
	require.NotEmpty(t, secret)
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
	require.True(t, auth.Authorize(req))
	res, _ = do(t, h, http.MethodPost, "/sign-out", url.Values{}, http.Header{
		"Sec-Fetch-Site": {"cross-site"}, "Cookie": {sessionCookie + "=" + secret},
	})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.True(t, auth.Authorize(req), "a cross-site sign-out changed nothing")
	r, err = c.Post(srv.URL+"/sign-out", "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	body = readBody(t, r)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, body, "Signed out")
	require.False(t, auth.Authorize(req), "the session ended")
	require.Empty(t, c.Jar.Cookies(u), "the cookie was cleared")
	r, err = c.Get(srv.URL + "/")
	require.NoError(t, err)
	_ = readBody(t, r)
	require.Equal(t, http.StatusForbidden, r.StatusCode)
}

// TestZeroTokenAuthDeniesAll: a TokenAuth not made by NewTokenAuth has no
// token, and an empty one signs no one in.
func TestZeroTokenAuthDeniesAll(t *testing.T) {
	t.Parallel()
	var a TokenAuth
	h := a.Handler(Handler(nil, Options{Authorize: a.Authorize}))
	for _, target := range []string{"/?token=", "/"} {
		res, _ := get(t, h, target)
		require.Equal(t, http.StatusForbidden, res.StatusCode, target)
		require.Empty(t, res.Cookies())
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: ""})
	require.False(t, a.Authorize(req))
}

// TestTokenAuthSessionExpires: a session lasts SessionLifetime.
func TestTokenAuthSessionExpires(t *testing.T) {
	t.Parallel()
	auth, err := NewTokenAuth("0123456789abcdef-TOKEN")
	require.NoError(t, err)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	auth.now = func() time.Time { return now }
	res, _ := get(t, auth.Handler(http.NotFoundHandler()), "/?token=0123456789abcdef-TOKEN")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(res.Cookies()[0])
	now = now.Add(SessionLifetime - time.Second)
	require.True(t, auth.Authorize(req))
	now = now.Add(time.Second)
	require.False(t, auth.Authorize(req))
	now = now.Add(-time.Hour)
	require.False(t, auth.Authorize(req), "an expired session is gone")
}

// TestCookieFlags: over TLS, or behind a TLS proxy as the app says, the
// session and flash cookies are Secure, __Host- prefixed and Path=/; they
// always carry Max-Age.
func TestCookieFlags(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	for _, tc := range []struct {
		name       string
		tls, proxy bool
		secure     bool
	}{
		{"plain", false, false, false},
		{"tls", true, false, true},
		{"behind a TLS proxy", false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seed(t, b.DB, live, tc.name)
			auth, err := NewTokenAuth("0123456789abcdef-TOKEN")
			require.NoError(t, err)
			auth.BehindTLSProxy = tc.proxy
			h := auth.Handler(Handler(b.DB, Options{Authorize: auth.Authorize, BehindTLSProxy: tc.proxy}))
			send := func(method, target string, form url.Values, cookies ...*http.Cookie) *http.Response {
				var body io.Reader
				if form != nil {
					body = strings.NewReader(form.Encode())
				}
				req := httptest.NewRequest(method, "http://cache.example"+target, body)
				if form != nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Sec-Fetch-Site", "same-origin")
				}
				if tc.tls {
					req.TLS = &tls.ConnectionState{}
				}
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec.Result()
			}
			check := func(c *http.Cookie, base string, maxAge int) {
				t.Helper()
				require.Equal(t, maxAge, c.MaxAge, c.Name)
				require.True(t, c.HttpOnly)
				require.Equal(t, http.SameSiteLaxMode, c.SameSite)
				if tc.secure {
					require.Equal(t, "__Host-"+base, c.Name)
					require.True(t, c.Secure)
					require.Equal(t, "/", c.Path)
				} else {
					require.Equal(t, base, c.Name)
					require.False(t, c.Secure)
					require.Empty(t, c.Path)
				}
			}
			res := send(http.MethodGet, "/?token=0123456789abcdef-TOKEN", nil)
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			session := res.Cookies()[0]
			check(session, sessionCookie, int(SessionLifetime/time.Second))

			res = send(http.MethodPost, "/delete", url.Values{"key": {tc.name}}, session)
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			flashC := res.Cookies()[0]
			check(flashC, flashCookie, flashMaxAge)
			res = send(http.MethodGet, "/", nil, session, flashC)
			require.Equal(t, http.StatusOK, res.StatusCode)
			check(res.Cookies()[0], flashCookie, -1)
			require.Contains(t, readBody(t, res), "Deleted &#34;"+tc.name+"&#34;.")
		})
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	seed(t, b.DB, live, "served")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, b.DB, "127.0.0.1:0", Options{ReadOnly: true}, pw) }()

	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "Cache admin page: http://127.0.0.1:"), line)
	link := strings.TrimSpace(strings.TrimPrefix(line, "Cache admin page: "))
	base, _, ok := strings.Cut(link, "?token=")
	require.True(t, ok, link)

	res, err := http.Get(base)
	require.NoError(t, err)
	_ = readBody(t, res)
	require.Equal(t, http.StatusForbidden, res.StatusCode, "no token, no page")

	c := browserlikeClient(t)
	res, err = c.Get(link)
	require.NoError(t, err)
	body := readBody(t, res)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, base, res.Request.URL.String())
	require.Equal(t, []string{"served"}, listedKeys(body))
	require.Contains(t, body, ">read-only</span>", "Options reach the handler")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after ctx was done")
	}
	_, err = http.Get(base)
	require.Error(t, err, "the server still listens")
}

func TestServeFailsToListen(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	err := Serve(t.Context(), b.DB, "127.0.0.1:-1", Options{}, io.Discard)
	require.ErrorContains(t, err, "cacheadmin: serve: ")
}
