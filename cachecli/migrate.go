package cachecli

import (
	"fmt"

	"github.com/spf13/cobra"

	cache "github.com/gormcache/cache"
)

func (c *cli) migrateCommand() *cobra.Command {
	var unlogged, logged bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create the cache table or bring it up to date",
		Long: `Create the cache table (cached_items, or --table) and its indexes, or bring
an existing table up to date. Running it again changes nothing.

On PostgreSQL, --unlogged makes the table UNLOGGED: writes cost about half,
but the table is emptied after a crash and not replicated to standbys.
--logged makes it an ordinary table again. SQLite ignores both.`,
		Example: `  cache migrate
  cache migrate --unlogged
  cache migrate --logged`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if unlogged && logged {
				return usagef("--unlogged and --logged cannot be used together")
			}
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			var opts []cache.MigrateOption
			persistence := ""
			switch {
			case unlogged:
				opts = append(opts, cache.Unlogged())
				persistence = "unlogged"
			case logged:
				opts = append(opts, cache.Logged())
				persistence = "logged"
			}
			if err := cache.AutoMigrate(db, opts...); err != nil {
				return err
			}
			table := c.tableName()
			if c.json {
				out := map[string]string{"migrated": table}
				if persistence != "" {
					out["persistence"] = persistence
				}
				return printJSON(cmd.OutOrStdout(), out)
			}
			msg := "migrated table " + table
			switch persistence {
			case "unlogged":
				msg += "; on PostgreSQL it is UNLOGGED: emptied after a crash, not replicated (undo with --logged)"
			case "logged":
				msg += "; on PostgreSQL it is an ordinary, logged table"
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	}
	cmd.Flags().BoolVar(&unlogged, "unlogged", false,
		"on PostgreSQL, make the table UNLOGGED: faster writes, emptied after a crash, not replicated")
	cmd.Flags().BoolVar(&logged, "logged", false, "on PostgreSQL, make an UNLOGGED table an ordinary, logged one again")
	return cmd
}
