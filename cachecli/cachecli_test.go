package cachecli_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/cachecli"
	"github.com/gormcache/cache/internal/cachetest"
)

// app is an app's root command with the cache group mounted, and the
// output of one execution.
type app struct {
	root        *cobra.Command
	out, errOut bytes.Buffer
	opens       int
}

func newApp(open func() (*gorm.DB, error)) *app {
	a := &app{root: &cobra.Command{Use: "app", SilenceErrors: true}}
	a.root.AddCommand(cachecli.Command(func() (*gorm.DB, error) {
		a.opens++
		return open()
	}))
	a.root.SetOut(&a.out)
	a.root.SetErr(&a.errOut)
	a.root.SetIn(strings.NewReader(""))
	return a
}

func (a *app) exec(ctx context.Context, args ...string) error {
	a.out.Reset()
	a.errOut.Reset()
	a.root.SetArgs(args)
	return a.root.ExecuteContext(ctx)
}

var subcommands = []string{"stats", "clear-expired", "clear-all", "migrate", "get", "set", "delete", "list"}

func TestHelpNeverOpensTheDatabase(t *testing.T) {
	t.Parallel()
	a := newApp(func() (*gorm.DB, error) {
		t.Error("help opened the database")
		return nil, errors.New("no database")
	})
	ctx := t.Context()
	require.NoError(t, a.exec(ctx, "cache"))
	require.Contains(t, a.out.String(), "Available Commands:")
	require.NoError(t, a.exec(ctx, "cache", "--help"))
	require.NoError(t, a.exec(ctx, "help", "cache"))
	for _, sub := range subcommands {
		require.NoError(t, a.exec(ctx, "cache", sub, "--help"))
		require.Contains(t, a.out.String(), "Usage:\n  app cache "+sub)
		// Examples name the command as mounted.
		require.Contains(t, a.out.String(), "Examples:\n  app cache "+sub)
		require.NotContains(t, a.out.String(), "gormcache "+sub)
		require.NoError(t, a.exec(ctx, "help", "cache", sub))
	}
	require.Zero(t, a.opens)
}

func TestOpensOnceWhenACommandRuns(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	a := newApp(func() (*gorm.DB, error) { return b.DB, nil })
	ctx := t.Context()
	require.NoError(t, a.exec(ctx, "cache", "set", "k", `{"v":1}`))
	require.Equal(t, 1, a.opens)
	require.NoError(t, a.exec(ctx, "cache", "get", "k"))
	require.Equal(t, "{\n  \"v\": 1\n}\n", a.out.String())
	require.Equal(t, 1, a.opens, "opened once per cache group")

	boom := errors.New("boom")
	failing := newApp(func() (*gorm.DB, error) { return nil, boom })
	err := failing.exec(ctx, "cache", "stats")
	require.ErrorIs(t, err, boom)
	require.EqualError(t, err, "open database: boom")
	require.NotErrorIs(t, err, cachecli.ErrUsage)
	require.NotContains(t, failing.out.String()+failing.errOut.String(), "Usage:", "no usage for an error that is not about usage")
}

func TestUsageErrorsWrapErrUsage(t *testing.T) {
	t.Parallel()
	a := newApp(func() (*gorm.DB, error) {
		t.Error("bad usage opened the database")
		return nil, errors.New("no database")
	})
	for _, args := range [][]string{
		{"cache", "bogus"},
		{"cache", "stats", "--bogus"},
		{"cache", "stats", "extra"},
		{"cache", "get"},
		{"cache", "set", "k"},
		{"cache", "set", "k", "1", "--ttl", "1m", "--at", "2030-01-01T00:00:00Z"},
		{"cache", "set", "k", "1", "--at", "soon"},
		{"cache", "list", "--live", "--forever"},
		{"cache", "list", "--limit", "-2"},
		{"cache", "clear-expired", "--every", "-1s"},
		{"cache", "clear-all", "--yes=perhaps"},
	} {
		err := a.exec(t.Context(), args...)
		require.ErrorIs(t, err, cachecli.ErrUsage, "%q", args)
		// cobra shows the usage of the command for these.
		require.Contains(t, a.out.String(), "Usage:", "%q", args)
	}
	require.Zero(t, a.opens)
}

func TestUsageShownOnlyForUsageErrors(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	a := newApp(func() (*gorm.DB, error) { return b.DB, nil })
	ctx := t.Context()
	// The same commands, executed again and again: no state carries over.
	for range 2 {
		require.ErrorContains(t, a.exec(ctx, "cache", "get", "nope"), "not found")
		require.NotContains(t, a.out.String(), "Usage:")
		require.ErrorIs(t, a.exec(ctx, "cache", "get"), cachecli.ErrUsage)
		require.Contains(t, a.out.String(), "Usage:\n  app cache get KEY")
		require.ErrorContains(t, a.exec(ctx, "cache", "get", "nope"), "not found")
		require.ErrorIs(t, a.exec(ctx, "cache", "get", "--bogus", "k"), cachecli.ErrUsage)
		require.Contains(t, a.out.String(), "Usage:\n  app cache get KEY")
		require.ErrorContains(t, a.exec(ctx, "cache", "get", "nope"), "not found")
		require.ErrorIs(t, a.exec(ctx, "cache", "set", "k", "1", "--ttl", "-1s"), cachecli.ErrUsage)
		require.Contains(t, a.out.String(), "Usage:\n  app cache set KEY JSON")
		require.NoError(t, a.exec(ctx, "cache", "set", "k", "1"))
		require.Equal(t, "set \"k\", expires never\n", a.out.String())
	}
}

func TestCommandsOnBackends(t *testing.T) {
	t.Parallel()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			a := newApp(func() (*gorm.DB, error) { return b.DB, nil })
			ctx := t.Context()
			require.NoError(t, a.exec(ctx, "cache", "migrate"))
			require.NoError(t, a.exec(ctx, "cache", "set", "a", `"x"`, "--ttl", "1h"))
			require.NoError(t, a.exec(ctx, "cache", "set", "b", `[1,2]`))
			require.NoError(t, cache.Cached(b.DB, "c").Set(1, cache.In(-time.Minute)))

			require.NoError(t, a.exec(ctx, "cache", "stats", "--json"))
			require.Contains(t, a.out.String(), `{"total":3,"live":2,"unexpired":1,"expired":1,"forever":1,"value_bytes":`)
			require.NoError(t, a.exec(ctx, "cache", "list", "--live"))
			require.Regexp(t, `^KEY +STATUS +EXPIRES +SIZE\nb +forever +never +\d+ B\na +unexpired +\S+Z +3 B\n$`, a.out.String())

			err := a.exec(ctx, "cache", "get", "c")
			require.EqualError(t, err, `get "c": not found`)
			require.NotErrorIs(t, err, cachecli.ErrUsage)

			require.NoError(t, a.exec(ctx, "cache", "clear-expired"))
			require.Equal(t, "deleted 1 expired entry\n", a.out.String())
			require.NoError(t, a.exec(ctx, "cache", "delete", "a"))
			require.NoError(t, a.exec(ctx, "cache", "clear-all", "--yes"))
			require.Equal(t, "deleted 1 entry\n", a.out.String())
		})
	}
}

func TestClearAllRefusesWithoutATerminal(t *testing.T) {
	t.Parallel()
	b := cachetest.SQLite(t)
	require.NoError(t, cache.Cached(b.DB, "k").Set(1))
	a := newApp(func() (*gorm.DB, error) { return b.DB, nil })
	a.root.SetIn(strings.NewReader("y\n")) // not a terminal, whatever it says
	err := a.exec(t.Context(), "cache", "clear-all")
	require.ErrorContains(t, err, "stdin is not a terminal")
	require.NotErrorIs(t, err, cachecli.ErrUsage)
	exists, err := cache.Cached(b.DB, "k").Exists()
	require.NoError(t, err)
	require.True(t, exists)
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestClearExpiredEveryStopsWithTheContext(t *testing.T) {
	t.Parallel()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, cache.Cached(b.DB, "old").Set(1, cache.In(-time.Second)))
			root := &cobra.Command{Use: "app", SilenceErrors: true}
			root.AddCommand(cachecli.Command(func() (*gorm.DB, error) { return b.DB, nil }))
			var out, errOut syncBuffer
			root.SetOut(&out)
			root.SetErr(&errOut)
			root.SetArgs([]string{"cache", "clear-expired", "--every", "20ms", "--json"})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- root.ExecuteContext(ctx) }()

			require.Eventually(t, func() bool { return strings.Count(out.String(), "\n") >= 3 },
				10*time.Second, 10*time.Millisecond, "three runs")
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("clear-expired --every did not stop when its context was cancelled")
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			require.Regexp(t, `^\{"time":"[^"]+Z","deleted":1\}$`, lines[0])
			for _, l := range lines[1:] {
				require.Regexp(t, `^\{"time":"[^"]+Z","deleted":0\}$`, l)
			}
			require.Regexp(t, `^\S+ stopped\n$`, errOut.String())
		})
	}
}
