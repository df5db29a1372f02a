package cacheadmin

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
	auth, err := NewTokenAuth(token)
	require.NoError(t, err)
	h := auth.Handler(Handler(b.DB, Options{Authorize: auth.Authorize}))

	// Without the cookie nothing is served, whatever the token parameter.
	for _, target := range []string{"/", "/entry?key=k", "/?token=wrong-token-0123456", "/?token="} {
		res, _ := get(t, h, target)
		require.Equal(t, http.StatusForbidden, res.StatusCode, target)
		require.Empty(t, res.Cookies(), target)
	}
	res, _ := do(t, h, http.MethodPost, "/clear-all?token="+token, nil, sameOrigin)
	require.Equal(t, http.StatusForbidden, res.StatusCode, "the token is exchanged on GET only")

	// The right token sets the cookie and redirects to the URL without it.
	for target, location := range map[string]string{
		"/?token=" + token:                        "./",
		"/entry?key=k&token=" + token:             "./entry?key=k",
		"/admin/cache/?token=" + token:            "./",
		"/a/b/entry?token=" + token + "&x=" + "1": "./entry?x=1",
	} {
		res, _ := get(t, h, target)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, target)
		require.Equal(t, location, res.Header.Get("Location"), target)
		require.Equal(t, "default-src 'self'; frame-ancestors 'none'", res.Header.Get("Content-Security-Policy"))
		cs := res.Cookies()
		require.Len(t, cs, 1)
		require.Equal(t, token, cs[0].Value)
		require.True(t, cs[0].HttpOnly)
		require.Empty(t, cs[0].Path, "scoped to the directory of the URL")
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
	r, err = c.Get(srv.URL + "/entry?key=k")
	require.NoError(t, err)
	_ = readBody(t, r)
	require.Equal(t, http.StatusOK, r.StatusCode)

	// Another token's cookie is refused.
	other, err := NewTokenAuth("another-token-0123456789")
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: tokenCookie, Value: token})
	require.True(t, auth.Authorize(req))
	require.False(t, other.Authorize(req))
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
