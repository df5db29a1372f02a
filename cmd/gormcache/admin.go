package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

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

It prints the URL to open, with a random token that signs in once: the first
visit swaps it for a session of 12 hours (Sign out ends it sooner). Keep the
default loopback address unless the page must be reachable from elsewhere: the
page speaks plain HTTP, so on any other address the token and the session
cookie cross the network in clear text (a warning says so).`,
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
			if !loopback(addr) {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: --addr %s is not a loopback address: the admin page is exposed beyond "+
					"this machine over plain HTTP, and its token and session cookie travel in clear text\n", addr)
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

// loopback reports whether addr (host:port) listens on loopback only: an
// empty or unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") listens
// on every interface, and a name other than localhost may resolve anywhere.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
