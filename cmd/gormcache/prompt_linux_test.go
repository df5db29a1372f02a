package main_test

import (
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its two ends: what a program
// reads from the terminal side is what the test writes to the other.
func openPTY(t *testing.T) (control, term *os.File) {
	t.Helper()
	control, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err, "open a pseudo-terminal")
	t.Cleanup(func() { _ = control.Close() })
	fd := int(control.Fd())
	require.NoError(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0), "unlock the pseudo-terminal")
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	require.NoError(t, err)
	term, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = term.Close() })
	return control, term
}

func TestClearAllAsksOnATerminal(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fixedEntries(t, b.DB)
			for _, answer := range []string{"n", "", "yess", "N"} {
				control, term := openPTY(t)
				_, err := control.WriteString(answer + "\n")
				require.NoError(t, err)
				res := run{env: []string{"DATABASE_URL=" + b.DSN}, stdin: term}.exec(t, "clear-all")
				require.Equal(t, 1, res.code, "answer %q; stderr: %s", answer, res.stderr)
				require.Empty(t, res.stdout)
				require.Equal(t, "Delete all 3 cache entries? [y/N] gormcache: clear-all: not confirmed, nothing deleted\n", res.stderr)
				require.EqualValues(t, 3, count(t, b.DB), "nothing deleted after %q", answer)
			}
			for _, answer := range []string{"y", "YES"} {
				control, term := openPTY(t)
				_, err := control.WriteString(answer + "\n")
				require.NoError(t, err)
				res := run{env: []string{"DATABASE_URL=" + b.DSN}, stdin: term}.exec(t, "clear-all")
				requireOKPrompt(t, res, "Delete all 3 cache entries? [y/N] ")
				require.Equal(t, "deleted 3 entries\n", res.stdout)
				require.Zero(t, count(t, b.DB))
				fixedEntries(t, b.DB)
			}
		})
	}
}

// requireOKPrompt checks that r succeeded and printed only the prompt on
// stderr.
func requireOKPrompt(t *testing.T, r result, prompt string) {
	t.Helper()
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	require.Equal(t, prompt, r.stderr)
}
