package main_test

import (
	"bufio"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gormcache/cache/internal/cachetest"
)

// TestAdminWarnsBeyondLoopback: an --addr that listens beyond loopback
// gets a warning on stderr, and the URL names the address listened on,
// never a localhost that the server does not stand for.
func TestAdminWarnsBeyondLoopback(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	for addr, want := range map[string]string{
		"127.0.0.1:0": `^http://127\.0\.0\.1:\d+/\?token=`,
		"localhost:0": `^http://127\.0\.0\.1:\d+/\?token=`,
		"0.0.0.0:0":   `^http://(0\.0\.0\.0|\[::\]):\d+/\?token=`,
		":0":          `^http://(0\.0\.0\.0|\[::\]):\d+/\?token=`,
		"[::]:0":      `^http://\[::\]:\d+/\?token=`,
	} {
		t.Run(addr, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(bin, "--database", b.DSN, "admin", "--addr", addr)
			cmd.Dir = t.TempDir()
			cmd.Env = environ()
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr lockedBuffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			line := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stdout)
				sc.Scan()
				line <- sc.Text()
			}()
			var got string
			select {
			case got = <-line:
			case <-time.After(20 * time.Second):
				t.Fatalf("no URL printed; stderr: %s", stderr.String())
			}
			m := regexp.MustCompile(`^Cache admin page: (\S+)$`).FindStringSubmatch(got)
			require.NotNil(t, m, got)
			require.Regexp(t, want, m[1])
			// The warning is written before the URL, but stderr is copied
			// from its pipe on its own: give it time to arrive.
			warning := regexp.MustCompile(`^warning: --addr \S+ is not a loopback address: the admin page is exposed beyond this machine over plain HTTP`)
			if addr == "127.0.0.1:0" || addr == "localhost:0" {
				time.Sleep(100 * time.Millisecond)
				require.Empty(t, stderr.String())
			} else {
				require.Eventually(t, func() bool { return warning.MatchString(stderr.String()) }, 20*time.Second, 10*time.Millisecond,
					"stderr: %q", stderr.String())
			}
		})
	}
}
