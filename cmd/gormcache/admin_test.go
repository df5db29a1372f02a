package main_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

func TestAdminServesWithToken(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			require.NoError(t, cache.Cached(b.DB, "<b>admin-key</b>").Set("v"))
			cmd := exec.Command(bin, "--database", b.DSN, "admin", "--addr", "127.0.0.1:0")
			cmd.Dir = t.TempDir()
			cmd.Env = environ()
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr lockedBuffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			lines := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var line string
			select {
			case line = <-lines:
			case <-time.After(20 * time.Second):
				t.Fatalf("no URL printed; stderr: %s", stderr.String())
			}
			m := regexp.MustCompile(`^Cache admin page: (http://127\.0\.0\.1:\d+/\?token=\S+)$`).FindStringSubmatch(line)
			require.NotNil(t, m, "printed %q", line)
			pageURL, err := url.Parse(m[1])
			require.NoError(t, err)

			// Without the token: refused.
			bare := *pageURL
			bare.RawQuery = ""
			resp, err := http.Get(bare.String())
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusForbidden, resp.StatusCode)

			// With it: a cookie, then the list, with the key escaped.
			jar, err := cookiejar.New(nil)
			require.NoError(t, err)
			client := &http.Client{Jar: jar}
			resp, err = client.Get(pageURL.String())
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.NotContains(t, resp.Request.URL.RawQuery, "token", "token swapped for a cookie")
			require.Contains(t, string(body), "&lt;b&gt;admin-key&lt;/b&gt;")
			resp, err = client.Get(bare.String())
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "the cookie authorizes")

			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				require.NoError(t, err, "clean exit; stderr: %s", stderr.String())
			case <-time.After(20 * time.Second):
				t.Fatal("gormcache admin did not stop on SIGINT")
			}
			require.False(t, strings.Contains(stderr.String(), "panic"), stderr.String())
		})
	}
}

func TestAdminRefusesJSON(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	requireFail(t, gc(t, b.DSN, "admin", "--json"), 2, "admin: --json does not apply")
}
