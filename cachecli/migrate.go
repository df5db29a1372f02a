package cachecli

import (
	"fmt"

	"github.com/spf13/cobra"

	cache "github.com/gormcache/cache"
)

func (c *cli) migrateCommand() *cobra.Command {
	var unlogged bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create the cache table or bring it up to date",
		Long: `Create the cache table (cached_items) and its indexes, or bring an existing
table up to date. Running it again changes nothing.`,
		Example: `  cache migrate
  cache migrate --unlogged`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			var opts []cache.MigrateOption
			if unlogged {
				opts = append(opts, cache.Unlogged())
			}
			if err := cache.AutoMigrate(db, opts...); err != nil {
				return err
			}
			table := cache.CachedItem{}.TableName()
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]string{"migrated": table})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "migrated table %s\n", table)
			return err
		},
	}
	cmd.Flags().BoolVar(&unlogged, "unlogged", false,
		"on PostgreSQL, make the table UNLOGGED: faster writes, emptied after a crash, not replicated")
	return cmd
}
