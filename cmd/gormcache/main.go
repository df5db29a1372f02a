// Command gormcache inspects and maintains the cache table of gormcache
// (github.com/gormcache/cache) in an SQLite file, a PostgreSQL database or a
// MySQL or MariaDB database, without the app that uses it.
//
// Install it with
//
//	go install github.com/gormcache/cache/cmd/gormcache@latest
//
// and run "gormcache --help". Its commands are those of package
// github.com/gormcache/cache/cachecli, plus --database (-d), which takes
// postgres://… or postgresql://… (or libpq's "host=… dbname=…" form) for
// PostgreSQL, mysql://user:pass@host:3306/db for MySQL and MariaDB, and
// sqlite://PATH, file:… or a plain path for SQLite. Without it the database is $DATABASE_URL, or
// else the file cache.db in the working directory.
//
// Exit status: 0 on success, 1 on an error, 2 on bad usage (an unknown flag
// or command, a missing argument).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/gormcache/cache/cachecli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// subcommands returns the commands that the binary has beyond those of the
// cache group, one line each. Each is made by a function in a file of its
// own that takes the database opener, which it calls only when it runs.
func subcommands(open func() (*gorm.DB, error)) []*cobra.Command {
	return []*cobra.Command{
		adminCommand(open), // admin.go: gormcache admin --addr
	}
}

// newRoot returns the gormcache command: the cache group of cachecli as the
// root, with --database.
func newRoot(getenv func(string) string) (*cobra.Command, *database) {
	d := &database{getenv: getenv}
	root := cachecli.Command(d.open)
	root.Use = "gormcache"
	root.Short = "Inspect and maintain a gormcache table"
	root.Long = `gormcache inspects and maintains the cache table of gormcache
(github.com/gormcache/cache) in an SQLite file, a PostgreSQL database or a
MySQL or MariaDB database.

The database is --database, else $DATABASE_URL, else cache.db in the working
directory: postgres://… or postgresql://… (or "host=… dbname=…") for
PostgreSQL; mysql://user:pass@host:3306/db for MySQL and MariaDB;
sqlite://PATH, file:… or a plain path for SQLite (created only by migrate).`
	root.Example = `  gormcache -d postgres://app@localhost/app stats
  gormcache -d mysql://app:secret@localhost:3306/app clear-expired
  DATABASE_URL=cache.db gormcache list --live --limit 10`
	if v := version(); v != "" {
		root.Version = v
	}
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.CompletionOptions.HiddenDefaultCmd = true
	root.PersistentFlags().StringVarP(&d.flag, "database", "d", "",
		"PostgreSQL or MySQL URL, or SQLite path (default $DATABASE_URL, else cache.db)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		d.create = cmd.Name() == "migrate"
		return nil
	}
	root.AddCommand(subcommands(d.open)...)
	return root, d
}

// run runs gormcache with args and returns its exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	root, d := newRoot(getenv)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if cerr := d.close(); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "gormcache: %s\n", oneLine(err.Error()))
	if errors.Is(err, cachecli.ErrUsage) || isCobraUsage(err) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return 2
	}
	return 1
}

// isCobraUsage recognizes the usage errors that cobra returns as plain
// errors, for commands that do not wrap cachecli.ErrUsage.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command ", "unknown flag: ", "unknown shorthand flag: ", "accepts ", "requires at least ", "requires at most ", "invalid argument "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// oneLine joins the lines of a message, so that an error is one line.
func oneLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}

// version is the module version the binary was built from, if known.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return ""
}
