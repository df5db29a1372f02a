package cachecli

import (
	"time"

	"github.com/spf13/cobra"

	cache "github.com/gormcache/cache"
)

// keyColumn is the widest a key shows in the list's table, in terminal
// columns; longer keys end in "…" (--json has them whole).
const keyColumn = 48

// listed is one entry of the list command.
type listed struct {
	Key       string       `json:"key"`
	Status    cache.Status `json:"status"`
	ExpiresAt *time.Time   `json:"expires_at"`
	// Size is the length of the value's JSON text, in bytes.
	Size int64 `json:"size"`
}

func (c *cli) listCommand() *cobra.Command {
	var (
		expired, live, unexpired, forever bool
		prefix, contains                  string
		limit                             int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List entries, newest first",
		Long: `List the entries with their key, status, expiry and size (the length of the
value's JSON text as the database gives it back: PostgreSQL's jsonb adds
spaces), newest first (in the order keys were first stored). Without a filter
it lists every entry, expired ones too; --live (what reads see: unexpired or
forever), --unexpired, --expired and --forever choose a status. --contains
keeps the keys that contain a text, ignoring ASCII case; --prefix those that
start with one (case-sensitive).`,
		Example: `  cache list --limit 20
  cache list --live --prefix user:
  cache list --contains session --expired --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			status, n := cache.StatusAll, 0
			for st, set := range map[cache.Status]bool{
				cache.StatusExpired: expired, cache.StatusLive: live,
				cache.StatusUnexpired: unexpired, cache.StatusForever: forever,
			} {
				if set {
					status = st
					n++
				}
			}
			if n > 1 {
				return usagef("--live, --unexpired, --expired and --forever cannot be used together")
			}
			if limit < 0 {
				return usagef("--limit must not be negative, not %d", limit)
			}
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			rows := []listed{}
			opts := cache.ListOptions{Status: status, Contains: contains, Prefix: prefix, Limit: 1000}
			for {
				if limit > 0 {
					opts.Limit = min(opts.Limit, limit-len(rows))
				}
				page, err := cache.List(db, opts)
				if err != nil {
					return c.explain(cmd, db, err)
				}
				for _, e := range page.Entries {
					rows = append(rows, listed{Key: e.Key, Status: e.Status, ExpiresAt: e.ExpiresAt, Size: e.Size})
				}
				if page.Next == "" || limit > 0 && len(rows) >= limit {
					break
				}
				opts.After = page.Next
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			return printList(cmd, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&live, "live", false, "only live entries, what reads see: unexpired or forever")
	f.BoolVar(&unexpired, "unexpired", false, "only entries with an expiry still to come")
	f.BoolVar(&expired, "expired", false, "only expired entries (not cleared yet)")
	f.BoolVar(&forever, "forever", false, "only entries that never expire")
	f.StringVar(&contains, "contains", "", "only keys that contain this, ignoring ASCII case")
	f.StringVar(&prefix, "prefix", "", "only keys that start with this (case-sensitive)")
	f.IntVar(&limit, "limit", 0, "at most this many entries (0: all)")
	return cmd
}

func printList(cmd *cobra.Command, rows []listed) error {
	t := table{right: map[int]bool{3: true}}
	t.add("KEY", "STATUS", "EXPIRES", "SIZE")
	for _, r := range rows {
		t.add(fit(displayKey(r.Key), keyColumn), string(r.Status), formatTime(r.ExpiresAt, "never"), humanBytes(r.Size))
	}
	return t.print(cmd.OutOrStdout())
}
