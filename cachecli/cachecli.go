package cachecli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// ErrUsage is wrapped by the errors that the commands of [Command] return
// for bad usage: an unknown flag or subcommand, a bad flag value, a missing
// or extra argument, or conflicting flags. Test for it with [errors.Is].
var ErrUsage = errors.New("cachecli: bad usage")

// usageError marks err as bad usage; its message is err's.
type usageError struct{ err error }

func (e usageError) Error() string   { return e.err.Error() }
func (e usageError) Unwrap() []error { return []error{e.err, ErrUsage} }

func usagef(format string, a ...any) error {
	return usageError{fmt.Errorf(format, a...)}
}

// errNotFound is returned by get and delete for a key without an entry.
var errNotFound = errors.New("not found")

// Command returns the "cache" command group with the subcommands stats,
// clear-expired, clear-all, migrate, get, set, delete, list, invalidate,
// delete-prefix, trim, locks and unlock. Add it to
// an app's root command, or rename it (set Use) and run it as a root.
//
// open returns the database to work on. It is called at most once per
// execution, only when a subcommand runs (never for help), and its
// *gorm.DB is not closed: the caller owns it. Each subcommand runs its
// queries under the command's context (cobra's ExecuteContext).
//
// Bad usage makes the commands return errors that wrap [ErrUsage]. The
// group's flag error function (cobra's SetFlagErrorFunc) does this for flag
// errors; an app's root that sets its own keeps it for its own commands.
func Command(open func() (*gorm.DB, error)) *cobra.Command {
	c := &cli{open: open}
	group := &cobra.Command{
		Use:   "cache",
		Short: "Inspect and maintain the gormcache table",
		Long: `Inspect and maintain the gormcache table (cached_items, or --table): count,
list, read and write entries, delete expired or all entries, create the table.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return usageError{errors.New(msg)}
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	group.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if cmd != group {
			cmd.SilenceUsage = false // set by an earlier execution's error
		}
		return usageError{err}
	})
	group.PersistentFlags().BoolVar(&c.json, "json", false, "print JSON instead of text")
	group.PersistentFlags().StringVar(&c.table, "table", "", "the cache table (default "+cache.CachedItem{}.TableName()+")")
	group.AddCommand(
		c.statsCommand(),
		c.clearExpiredCommand(),
		c.clearAllCommand(),
		c.migrateCommand(),
		c.getCommand(),
		c.setCommand(),
		c.deleteCommand(),
		c.listCommand(),
		c.invalidateCommand(),
		c.deletePrefixCommand(),
		c.trimCommand(),
		c.locksCommand(),
		c.unlockCommand(),
	)
	c.examples = make(map[*cobra.Command]string)
	for _, sub := range group.Commands() {
		c.examples[sub] = sub.Example
		// The usage errors come before RunE: from the flags and from
		// Args, which also restore what RunE may have set.
		check := sub.Args
		sub.Args = func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = false
			if check == nil {
				return nil
			}
			return check(cmd, args)
		}
		run := sub.RunE
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			// cobra keeps flag values from one execution to the next;
			// reset them so that an app can execute its root again.
			defer resetFlags(cmd.LocalFlags(), group.PersistentFlags())
			// cobra prints the usage after an error unless told not to:
			// only bad usage deserves it.
			err := run(cmd, args)
			cmd.SilenceUsage = err != nil && !errors.Is(err, ErrUsage)
			return plain(err)
		}
	}
	// Examples are written as "cache stats"; help shows the real command
	// path ("gormcache stats", "app cache stats"), known only once the
	// group is mounted. The help and usage functions of the app's root
	// (or cobra's defaults) still do the printing.
	group.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		c.fillExamples(group)
		parentOf(group).HelpFunc()(cmd, args)
	})
	group.SetUsageFunc(func(cmd *cobra.Command) error {
		c.fillExamples(group)
		return parentOf(group).UsageFunc()(cmd)
	})
	return group
}

// resetFlags sets the flags back to their defaults.
func resetFlags(sets ...*pflag.FlagSet) {
	for _, fs := range sets {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Changed {
				_ = f.Value.Set(f.DefValue)
				f.Changed = false
			}
		})
	}
}

// parentOf returns the group's parent, or for a root a command without
// help or usage functions of its own, whose functions are cobra's defaults.
func parentOf(group *cobra.Command) *cobra.Command {
	if p := group.Parent(); p != nil {
		return p
	}
	return &cobra.Command{}
}

// fillExamples sets the examples of the group's commands from the
// originals, with "cache" replaced by the group's command path.
func (c *cli) fillExamples(group *cobra.Command) {
	for sub, ex := range c.examples {
		lines := strings.Split(ex, "\n")
		for i, l := range lines {
			if rest, ok := strings.CutPrefix(l, "  cache "); ok {
				lines[i] = "  " + group.CommandPath() + " " + rest
			}
		}
		sub.Example = strings.Join(lines, "\n")
	}
}

// cli is the state the commands of one Command share.
type cli struct {
	open   func() (*gorm.DB, error)
	opened *gorm.DB
	json   bool
	table  string // --table; "" for the default
	// examples holds each command's Example as written.
	examples map[*cobra.Command]string
}

// db opens the database (once) and returns a session under cmd's context.
func (c *cli) db(cmd *cobra.Command) (*gorm.DB, error) {
	if c.opened == nil {
		if c.open == nil {
			return nil, errors.New("open database: no open function")
		}
		db, err := c.open()
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		if db == nil {
			return nil, errors.New("open database: got a nil *gorm.DB")
		}
		c.opened = db
	}
	db := c.opened
	if c.table != "" {
		db = db.Table(c.table)
	}
	return db.WithContext(cmd.Context()), nil
}

// tableName is the name of the table the commands work on.
func (c *cli) tableName() string {
	if c.table != "" {
		return c.table
	}
	return cache.CachedItem{}.TableName()
}

// plainError is a library error as the command line shows it.
type plainError struct {
	msg string
	err error
}

func (e plainError) Error() string { return e.msg }
func (e plainError) Unwrap() error { return e.err }

// plain drops the "cache: " prefixes of the library's errors, which name
// the package in logs (cache: set "k": cache: invalid value). On the
// command line the program's name goes first, so they would only repeat
// it. The error still wraps the library's, for errors.Is.
func plain(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	short := strings.ReplaceAll(strings.TrimPrefix(msg, "cache: "), ": cache: ", ": ")
	short = strings.ReplaceAll(short, "(cache: ", "(")
	if short == msg {
		return err
	}
	return plainError{short, err}
}

// explain returns err, or for a database without the cache table an error
// that says to run migrate ("no such table" is all the databases say).
func (c *cli) explain(cmd *cobra.Command, db *gorm.DB, err error) error {
	if err == nil || cmd.Context().Err() != nil {
		return err
	}
	if !db.Migrator().HasTable(&cache.CachedItem{}) {
		return fmt.Errorf("table %q does not exist: run %q first (%w)",
			c.tableName(), c.migrateLine(cmd), err)
	}
	return err
}

// migrateLine is the command line of the migrate command next to cmd,
// with the --table in use.
func (c *cli) migrateLine(cmd *cobra.Command) string {
	line := "migrate"
	if p := cmd.Parent(); p != nil {
		line = p.CommandPath() + " migrate"
	}
	if c.table != "" {
		line += " --table " + c.table
	}
	return line
}

// printJSON writes v as one line of JSON, C1 controls escaped.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", escapeC1(b))
	return err
}

// exactArgs is cobra.ExactArgs with usage errors that name the arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usagef("%s: missing argument %s", cmd.Name(), strings.Join(names[len(args):], " "))
		case len(args) > len(names):
			return usagef("%s: unexpected argument %q", cmd.Name(), args[len(names)])
		}
		return nil
	}
}

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s: unexpected argument %q", cmd.Name(), args[0])
	}
	return nil
}

// entries returns "1 entry" or "n entries", with an adjective if given:
// "1 expired entry".
func entries(n int64, adjective ...string) string {
	noun := "entries"
	if n == 1 {
		noun = "entry"
	}
	return strings.Join(append(append([]string{fmt.Sprint(n)}, adjective...), noun), " ")
}
