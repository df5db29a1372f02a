// Package cachecli is the command line of gormcache: a "cache" command group
// for the cobra root command of an app, with subcommands for operators.
//
// # Embedding
//
// Add the group to the app's root command. The function passed to [Command]
// opens the app's database; it is called only when a subcommand runs, so
// "app cache --help" never touches a database:
//
//	root.AddCommand(cachecli.Command(func() (*gorm.DB, error) {
//		return gorm.Open(postgres.Open(os.Getenv("DATABASE_URL")), &gorm.Config{})
//	}))
//
// The standalone binary github.com/gormcache/cache/cmd/gormcache is this
// group as its root, plus a --database flag.
//
// # Commands
//
//	stats                  counts by status, value and disk sizes, oldest and newest expiry
//	clear-expired          delete expired entries (--every 5m: repeat until SIGINT/SIGTERM)
//	clear-all              delete every entry, after a prompt on a terminal (--yes skips it)
//	migrate                create or update the cache table (--unlogged, --logged on PostgreSQL)
//	get KEY                print the live value under KEY as indented JSON
//	set KEY JSON           store a JSON value (--ttl 10m or --at RFC3339 for an expiry)
//	delete KEY             delete the entry under KEY
//	list                   list entries, newest first (--live, --unexpired, --expired, --forever, --contains, --prefix)
//
// Every subcommand takes --json, which makes it print JSON instead of text,
// and --table, which names a cache kept in a table of its own (db.Table).
// Results go to the command's output (stdout), errors to its error output.
// The status words (live, unexpired, expired, forever) are those of
// cache.Status. The commands use the cache package's API only.
//
// # Errors
//
// The subcommands return errors instead of exiting. Errors of usage (an
// unknown flag or subcommand, a missing argument, conflicting flags) wrap
// [ErrUsage]; a program that runs the group as its own root can map them to
// exit status 2, as cmd/gormcache does, and everything else to 1.
package cachecli
