package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

func TestRunExitStatus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return "sqlite://" + dir + "/cache.db"
		}
		return ""
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"migrate"}, 0, "migrated table cached_items\n", ""},
		{[]string{"set", "k", `"v"`}, 0, "set \"k\", expires never\n", ""},
		{[]string{"get", "k", "--json"}, 0, "\"v\"\n", ""},
		{[]string{"get", "nope"}, 1, "", "gormcache: get \"nope\": not found\n"},
		{[]string{"get"}, 2, "", "gormcache: get: missing argument KEY\nRun 'gormcache get --help' for usage.\n"},
		{[]string{"--nope"}, 2, "", "gormcache: unknown flag: --nope\nRun 'gormcache --help' for usage.\n"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), tc.args, getenv, strings.NewReader(""), &stdout, &stderr)
		require.Equal(t, tc.code, code, "%q: %s", tc.args, stderr.String())
		require.Equal(t, tc.stdout, stdout.String(), "%q", tc.args)
		require.Equal(t, tc.stderr, stderr.String(), "%q", tc.args)
	}
}

func TestCobraUsageErrorsOfOtherCommands(t *testing.T) {
	t.Parallel()
	// A command added through subcommands that uses cobra's own argument
	// checks still exits with status 2 for bad usage.
	cmd := &cobra.Command{Use: "x", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { return nil }}
	require.True(t, isCobraUsage(cmd.Args(cmd, nil)))
	require.True(t, isCobraUsage(errors.New(`unknown command "y" for "gormcache"`)))
	require.False(t, isCobraUsage(errors.New("listen tcp: address already in use")))
}

func TestOneLine(t *testing.T) {
	t.Parallel()
	require.Equal(t, "a b: c", oneLine("a\n  b:\r\n c\n"))
}
