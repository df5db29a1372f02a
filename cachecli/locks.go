package cachecli

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	cache "github.com/gormcache/cache"
)

func (c *cli) locksCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "locks",
		Short: "List held locks",
		Long: `List the locks held now (cache.Lock, and Fetch's locks, named
"gormcache:fetch:" and the key) with their owner token and when they run
out unless extended, by name.`,
		Example: `  cache locks
  cache locks --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			locks, err := cache.ListLocks(db)
			if err != nil {
				return c.explain(cmd, db, err)
			}
			if c.json {
				if locks == nil {
					locks = []cache.LockInfo{}
				}
				return printJSON(cmd.OutOrStdout(), locks)
			}
			if len(locks) == 0 {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "no locks held")
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tOWNER\tEXPIRES")
			for _, l := range locks {
				fmt.Fprintf(w, "%s\t%s\t%s\n", displayKey(l.Name), displayKey(l.Owner), l.ExpiresAt.Format(time.RFC3339))
			}
			return w.Flush()
		},
	}
}

func (c *cli) unlockCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "unlock NAME",
		Short: "Release a lock, whoever holds it",
		Long: `Release the lock called NAME whoever holds it (cache.ForceReleaseLock), so
that another owner can take it. A lock that is not held is an error:
"not held".

On a terminal it asks for confirmation first. Without a terminal on stdin
(a script, a pipe, a job) it refuses unless --yes is given.`,
		Example: `  cache unlock nightly-report
  cache unlock nightly-report --yes`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			in := cmd.InOrStdin()
			if !yes && !isTerminal(in) {
				return errors.New("unlock: stdin is not a terminal, so there is no one to confirm: pass --yes to release the lock")
			}
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			if !yes {
				ok, err := confirm(in, cmd.ErrOrStderr(), fmt.Sprintf("Release lock %s, whoever holds it? [y/N] ", displayKey(name)))
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("unlock: not confirmed, nothing released")
				}
			}
			released, err := cache.ForceReleaseLock(db, name)
			if err != nil {
				return c.explain(cmd, db, err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]bool{"released": released})
			}
			if !released {
				return fmt.Errorf("unlock %s: %w", displayKey(name), errNotHeld)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "released %s\n", displayKey(name))
			return err
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "release without asking")
	return cmd
}

// errNotHeld is returned by unlock for a lock that is not held.
var errNotHeld = errors.New("not held")
