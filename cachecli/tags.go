package cachecli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

func (c *cli) invalidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "invalidate TAG...",
		Short: "Delete the entries that carry any of the tags",
		Long: `Delete every entry, live or expired, tagged with any of the TAGs (see
cache.WithTags), and print how many were deleted. Tags are matched exactly,
case-sensitively.`,
		Example: `  cache invalidate product:7
  cache invalidate product:7 catalog`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s needs at least one TAG", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			n, err := cache.InvalidateTags(db, args...)
			return c.printDeleted(cmd, db, n, err)
		},
	}
}

func (c *cli) deletePrefixCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete-prefix PREFIX",
		Short: "Delete the entries whose key starts with a prefix",
		Long: `Delete every entry, live or expired, whose key starts with PREFIX (compared
byte by byte: case-sensitive, with % and _ as plain characters), and print
how many were deleted.

On a terminal it shows how many entries match and asks for confirmation
first. Without a terminal on stdin (a script, a pipe, a job) it refuses
unless --yes is given.`,
		Example: `  cache delete-prefix session:
  cache delete-prefix tenant:42: --yes`,
		Args: exactArgs("PREFIX"),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := args[0]
			in := cmd.InOrStdin()
			if !yes && !isTerminal(in) {
				return errors.New("delete-prefix: stdin is not a terminal, so there is no one to confirm: pass --yes to delete")
			}
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			if !yes && prefix != "" {
				n, err := countPrefix(db, prefix)
				if err != nil {
					return c.explain(cmd, db, fmt.Errorf("delete-prefix: count: %w", err))
				}
				if n == 0 {
					_, err = fmt.Fprintf(cmd.OutOrStdout(), "no entry's key starts with %s\n", strconv.Quote(prefix))
					return err
				}
				ok, err := confirm(in, cmd.ErrOrStderr(), fmt.Sprintf("Delete %s whose key starts with %s? [y/N] ", entries(n), strconv.Quote(prefix)))
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("delete-prefix: not confirmed, nothing deleted")
				}
			}
			n, err := cache.DeletePrefix(db, prefix)
			return c.printDeleted(cmd, db, n, err)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking")
	return cmd
}

func (c *cli) trimCommand() *cobra.Command {
	var (
		maxEntries int64
		maxSize    string
		maxAge     time.Duration
		every      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "trim",
		Short: "Delete entries until the table holds to limits",
		Long: `Delete expired entries, then entries not written for longer than --max-age,
then the least recently written until at most --max-entries remain and their
keys and values take at most --max-size (bytes, or with a unit: KB, MB, GB,
KiB, MiB, GiB), in batches, and print how many were deleted. A limit left
out (or 0) does not apply.

With --every it runs at once and then at every interval, printing one line
per run, until SIGINT or SIGTERM stops it; a failed run is reported on
stderr and retried at the next interval.`,
		Example: `  cache trim --max-entries 1000000
  cache trim --max-size 512MiB --max-age 336h --every 5m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if every < 0 || cmd.Flags().Changed("every") && every == 0 {
				return usagef("--every must be positive, not %v", every)
			}
			if maxEntries < 0 || maxAge < 0 {
				return usagef("--max-entries and --max-age must not be negative")
			}
			limits := cache.Limits{MaxEntries: maxEntries, MaxAge: maxAge}
			if maxSize != "" {
				b, err := parseSize(maxSize)
				if err != nil {
					return usagef("--max-size: %v", err)
				}
				limits.MaxBytes = b
			}
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			if every > 0 {
				return c.runEvery(cmd, db, every, "trim", func(db *gorm.DB) (int64, error) {
					return cache.Trim(db, limits)
				})
			}
			n, err := cache.Trim(db, limits)
			return c.printDeleted(cmd, db, n, err)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&maxEntries, "max-entries", 0, "keep at most this many entries (0: no limit)")
	f.StringVar(&maxSize, "max-size", "", "keep keys and values within this size, e.g. 512MiB (empty: no limit)")
	f.DurationVar(&maxAge, "max-age", 0, "delete entries not written for longer, e.g. 336h (0: no limit)")
	f.DurationVar(&every, "every", 0, "run at once and then at this interval until SIGINT or SIGTERM (e.g. 5m)")
	return cmd
}

// countPrefix counts the entries whose key starts with prefix, a page of
// cache.List at a time.
func countPrefix(db *gorm.DB, prefix string) (int64, error) {
	var n int64
	opts := cache.ListOptions{Prefix: prefix, Limit: 1000}
	for {
		p, err := cache.List(db, opts)
		if err != nil {
			return n, err
		}
		n += int64(len(p.Entries))
		if p.Next == "" {
			return n, nil
		}
		opts.After = p.Next
	}
}

// parseSize reads a size in bytes: a whole number with an optional unit,
// decimal (KB, MB, GB, TB) or binary (KiB, MiB, GiB, TiB), case-insensitive.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && '0' <= t[i] && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 512MiB)", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	units := map[string]int64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}
	m, ok := units[strings.ToLower(strings.TrimSpace(t[i:]))]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s)
	}
	if n > (1<<63-1)/m {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * m, nil
}
