package cachecli_test

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gormcache/cache/cachecli"
)

// An app mounts the cache group on its own root command. The database is
// opened only when a cache subcommand runs.
func ExampleCommand() {
	openDB := func() (*gorm.DB, error) {
		// An app would open its own database here, e.g. from DATABASE_URL.
		return gorm.Open(sqlite.Open("file:example?mode=memory&cache=shared"),
			&gorm.Config{Logger: logger.Discard})
	}
	root := &cobra.Command{Use: "app"}
	root.AddCommand(cachecli.Command(openDB))

	for _, args := range [][]string{
		{"cache", "migrate"},
		{"cache", "set", "greeting", `{"text":"hello"}`},
		{"cache", "get", "greeting"},
		{"cache", "list"},
	} {
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	// Output:
	// migrated table cached_items
	// set "greeting", expires never
	// {
	//   "text": "hello"
	// }
	// KEY       STATUS   EXPIRES  SIZE
	// greeting  forever  never    16 B
}
