package cacheadmin

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/cachetest"
)

// startServe runs serve on a loopback port until the test ends and returns
// the sign-in URL it printed.
func startServe(t *testing.T, db *gorm.DB, addr string, opts Options, limits serverLimits) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, db, addr, opts, pw, limits) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not return after ctx was done")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	link, ok := strings.CutPrefix(strings.TrimSpace(line), "Cache admin page: ")
	require.True(t, ok, line)
	return link
}

// closedWithin reports whether the server closes conn within d: a read
// returns EOF (or a reset) rather than the client's own deadline.
func closedWithin(t *testing.T, conn net.Conn, d time.Duration) bool {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(d)))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestServeTimeouts holds real TCP connections to serve: a request whose
// body never comes, and an idle keep-alive connection, are closed by the
// server's timeouts (short here, minutes in Serve), and a huge header is
// refused.
func TestServeTimeouts(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	limits := serverLimits{readHeader: time.Second, read: time.Second, write: 10 * time.Second, idle: time.Second, maxHeaderBytes: 16 << 10}
	link := startServe(t, b.DB, "127.0.0.1:0", Options{}, limits)
	u, err := url.Parse(link)
	require.NoError(t, err)
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	// Generous: the server's timeouts are 1 s.
	const patience = 20 * time.Second

	// A body announced and never sent.
	c := dial()
	_, err = io.WriteString(c, "POST /delete HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n")
	require.NoError(t, err)
	require.True(t, closedWithin(t, c, patience), "a request without its body held the connection")

	// Headers that never end.
	c = dial()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	require.NoError(t, err)
	require.True(t, closedWithin(t, c, patience), "unfinished headers held the connection")

	// An idle keep-alive connection after one request.
	c = dial()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.NotEqual(t, "close", res.Header.Get("Connection"))
	require.True(t, closedWithin(t, c, patience), "an idle keep-alive connection stayed open")

	// A header past the limit.
	c = dial()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 64<<10)+"\r\n\r\n")
	require.NoError(t, err)
	res, err = http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, res.StatusCode)
}

// TestServeLimits pins Serve's own limits.
func TestServeLimits(t *testing.T) {
	t.Parallel()
	l := serveLimits()
	for name, d := range map[string]time.Duration{"read header": l.readHeader, "read": l.read, "write": l.write, "idle": l.idle} {
		require.Positive(t, d, name)
		require.LessOrEqual(t, d, 2*time.Minute, name)
	}
	require.Equal(t, 16<<10, l.maxHeaderBytes)
}

// TestServeAuthorizeMustPassToo: with an app Authorize in Options, Serve
// serves a request only when the session is valid and the app's check
// passes as well.
func TestServeAuthorizeMustPassToo(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	seed(t, b.DB, live, "k")
	allow := func(r *http.Request) bool { return r.Header.Get("X-App-Admin") == "yes" }
	link := startServe(t, b.DB, "127.0.0.1:0", Options{Authorize: allow}, serveLimits())
	base, _, _ := strings.Cut(link, "?")

	send := func(c *http.Client, admin string) int {
		req, err := http.NewRequest(http.MethodGet, base, nil)
		require.NoError(t, err)
		req.Header.Set("X-App-Admin", admin)
		res, err := c.Do(req)
		require.NoError(t, err)
		_ = readBody(t, res)
		return res.StatusCode
	}
	c := browserlikeClient(t)
	require.Equal(t, http.StatusForbidden, send(c, "yes"), "the app allows, no session")
	req, err := http.NewRequest(http.MethodGet, link, nil)
	require.NoError(t, err)
	req.Header.Set("X-App-Admin", "yes")
	res, err := c.Do(req)
	require.NoError(t, err)
	_ = readBody(t, res)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, http.StatusOK, send(c, "yes"), "session and app agree")
	require.Equal(t, http.StatusForbidden, send(c, "no"), "a valid session, the app denies")
}

// TestServePrintsTheListenAddress: the URL names the address listened on,
// not localhost, for an unspecified one too.
func TestServePrintsTheListenAddress(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	// Go listens on both IPv4 and IPv6 for an unspecified IPv4 address
	// where it can, and says so: [::].
	for addr, want := range map[string]string{
		"127.0.0.1:0": `^http://127\.0\.0\.1:\d+/\?token=`,
		"0.0.0.0:0":   `^http://(0\.0\.0\.0|\[::\]):\d+/\?token=`,
		":0":          `^http://(0\.0\.0\.0|\[::\]):\d+/\?token=`,
	} {
		link := startServe(t, b.DB, addr, Options{}, serveLimits())
		require.Regexp(t, want, link, addr)
	}
}

// TestRequestBodyIsBounded: the Handler refuses a body past 64 KiB, by its
// Content-Length or as it streams, whatever server it runs on.
func TestRequestBodyIsBounded(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	seed(t, b.DB, live, "k")
	srv := mounted(t, Handler(b.DB, Options{Authorize: AllowAll}))
	big := "key=k&pad=" + strings.Repeat("a", 100<<10)
	for name, body := range map[string]io.Reader{
		"with Content-Length": strings.NewReader(big),
		"chunked":             io.MultiReader(strings.NewReader(big)), // no length: chunked
	} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/admin/cache/delete", body)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = readBody(t, res)
		require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, name)
	}
	_, body := get(t, Handler(b.DB, Options{Authorize: AllowAll}), "/")
	require.Equal(t, []string{"k"}, listedKeys(body), "nothing deleted")
}

// TestFlashCookieIsSigned: a flash cookie that this handler did not sign,
// as another service on the host could set (cookies are not scoped by
// port), shows nothing.
func TestFlashCookieIsSigned(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	seed(t, b.DB, live, "k")
	h := Handler(b.DB, Options{Authorize: AllowAll})
	other := Handler(b.DB, Options{Authorize: AllowAll})
	const evil = "Session expired: sign in again at http://evil.example"
	payload := base64.RawURLEncoding.EncodeToString([]byte("error\n" + evil))

	res, _ := post(t, other, "/delete", url.Values{"key": {"nope"}})
	fromOther := res.Cookies()[0].Value
	for name, value := range map[string]string{
		"unsigned (the old format)": payload,
		"bad signature":             payload + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
		"signature of another":      payload + fromOther[strings.IndexByte(fromOther, '.'):],
		"another handler's cookie":  fromOther,
	} {
		res, body := do(t, h, http.MethodGet, "/", nil, http.Header{"Cookie": {flashCookie + "=" + value}})
		require.Equal(t, http.StatusOK, res.StatusCode, name)
		require.NotContains(t, body, `class="flash`, name)
		require.NotContains(t, body, "evil.example", name)
	}
	res, _ = post(t, h, "/delete", url.Values{"key": {"nope"}})
	_, body := do(t, h, http.MethodGet, "/", nil, http.Header{"Cookie": {flashCookie + "=" + res.Cookies()[0].Value}})
	require.Contains(t, body, "No entry under key &#34;nope&#34;", "its own flash shows")
}
