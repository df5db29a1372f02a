package cachecli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

func (c *cli) clearExpiredCommand() *cobra.Command {
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "clear-expired",
		Short: "Delete expired entries",
		Long: `Delete the expired entries, in batches, and print how many were deleted.

Reads never delete expired entries, so they stay in the table until this
runs. With --every it runs at once and then at every interval, printing one
line per run, until SIGINT or SIGTERM stops it; a failed run is reported on
stderr and retried at the next interval.`,
		Example: `  cache clear-expired
  cache clear-expired --every 5m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if every < 0 || cmd.Flags().Changed("every") && every == 0 {
				return usagef("--every must be positive, not %v", every)
			}
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			if every > 0 {
				return c.runEvery(cmd, db, every, "clear-expired", cache.ClearExpired, "expired")
			}
			n, err := cache.ClearExpired(db)
			return c.printDeleted(cmd, db, n, err, "expired")
		},
	}
	cmd.Flags().DurationVar(&every, "every", 0, "run at once and then at this interval until SIGINT or SIGTERM (e.g. 5m)")
	return cmd
}

// printDeleted prints what a deleting command did: how many entries it
// deleted (described by adjective, if any), or its error explained.
func (c *cli) printDeleted(cmd *cobra.Command, db *gorm.DB, n int64, err error, adjective ...string) error {
	if err != nil {
		return c.explain(cmd, db, err)
	}
	if c.json {
		return printJSON(cmd.OutOrStdout(), map[string]int64{"deleted": n})
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", entries(n, adjective...))
	return err
}

// runEvery runs a chore (clear-expired, trim) at once and then every
// interval until the command's context is done or the process gets SIGINT
// or SIGTERM. Each run prints one line saying how many entries it deleted
// (described by adjective, if any); a failed one prints its error on
// stderr.
func (c *cli) runEvery(cmd *cobra.Command, db *gorm.DB, every time.Duration, name string,
	chore func(*gorm.DB) (int64, error), adjective ...string) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db = db.WithContext(ctx)
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		now := time.Now().UTC()
		n, err := chore(db)
		switch {
		case ctx.Err() != nil:
			// Stopped during the run: nothing to report.
		case err != nil:
			fmt.Fprintf(errOut, "%s %s failed: %v\n", now.Format(time.RFC3339), name, plain(c.explain(cmd, db, err)))
		case c.json:
			if err := printJSON(out, struct {
				Time    time.Time `json:"time"`
				Deleted int64     `json:"deleted"`
			}{now, n}); err != nil {
				return err
			}
		default:
			if _, err := fmt.Fprintf(out, "%s deleted %s\n", now.Format(time.RFC3339), entries(n, adjective...)); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(errOut, "%s stopped\n", time.Now().UTC().Format(time.RFC3339))
			return nil
		case <-tick.C:
		}
	}
}

func (c *cli) clearAllCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "clear-all",
		Short: "Delete every entry",
		Long: `Delete every cache entry, live or expired, and print how many were deleted.

On a terminal it asks for confirmation first. Without a terminal on stdin
(a script, a pipe, a job) it refuses unless --yes is given.`,
		Example: `  cache clear-all
  cache clear-all --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := cmd.InOrStdin()
			if !yes && !isTerminal(in) {
				return errors.New("clear-all: stdin is not a terminal, so there is no one to confirm: pass --yes to delete every entry")
			}
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			if !yes {
				st, err := cache.Stats(db)
				if err != nil {
					return c.explain(cmd, db, err)
				}
				if st.Total > 0 {
					ok, err := confirm(in, cmd.ErrOrStderr(), fmt.Sprintf("Delete all %d cache entries? [y/N] ", st.Total))
					if err != nil {
						return err
					}
					if !ok {
						return errors.New("clear-all: not confirmed, nothing deleted")
					}
				}
			}
			n, err := cache.Clear(db)
			return c.printDeleted(cmd, db, n, err)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking")
	return cmd
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm writes the prompt to w and reports whether the line read from r
// is "y" or "yes", in any case.
func confirm(r io.Reader, w io.Writer, prompt string) (bool, error) {
	if _, err := io.WriteString(w, prompt); err != nil {
		return false, err
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read answer: %w", err)
	}
	if errors.Is(err, io.EOF) {
		_, _ = io.WriteString(w, "\n")
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
