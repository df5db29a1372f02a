package main

import (
	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/gormcache/cache/cacheadmin"
	"github.com/gormcache/cache/cachecli"
)

// adminCommand returns "gormcache admin": the admin page of package
// cacheadmin on its own port, behind a token printed once at start.
func adminCommand(open func() (*gorm.DB, error)) *cobra.Command {
	var (
		addr     string
		readOnly bool
	)
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Serve the cache admin page, guarded by a one-time token",
		Long: `Serve the cache admin page (package cacheadmin) until interrupted.

It prints the URL to open once, with a random token; the first visit swaps the
token for a cookie. Keep the default loopback address unless the page must be
reachable from elsewhere: anyone with the URL can manage the cache.`,
		Example: `  gormcache admin
  gormcache -d postgres://app@localhost/app admin --addr 127.0.0.1:9000 --read-only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				return usageError("admin: --json does not apply: admin serves a page and prints only its URL")
			}
			table, _ := cmd.Flags().GetString("table")
			db, err := open()
			if err != nil {
				return err
			}
			return cacheadmin.Serve(cmd.Context(), db, addr, cacheadmin.Options{ReadOnly: readOnly, Table: table}, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "hide and refuse delete and clear")
	return cmd
}

// usageError is bad usage of a command of this binary: it matches
// cachecli.ErrUsage, so the exit status is 2.
type usageError string

func (e usageError) Error() string        { return string(e) }
func (e usageError) Is(target error) bool { return target == cachecli.ErrUsage }
