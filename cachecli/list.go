package cachecli

import (
	"fmt"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"gorm.io/gorm/clause"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/dialect"
)

// listed is one line of the list command.
type listed struct {
	Key       string     `json:"key"`
	ExpiresAt *time.Time `json:"expires_at"`
	// Size is the length of the value's JSON text, in bytes.
	Size int64 `json:"size"`
}

func (c *cli) listCommand() *cobra.Command {
	var (
		expired, live, forever bool
		prefix                 string
		limit                  int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List entries, most recently written first",
		Long: `List the entries with their key, expiry and size (the length in bytes of the
value's JSON text as the database gives it back: PostgreSQL's jsonb adds
spaces), most recently written first. Without a filter it lists
every entry, expired ones too; --expired, --live and --forever choose one
kind. --prefix keeps the keys that start with it (case-sensitive).`,
		Example: `  cache list --limit 20
  cache list --live --prefix user:
  cache list --expired --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, f := range []bool{expired, live, forever} {
				if f {
					n++
				}
			}
			if n > 1 {
				return usagef("--expired, --live and --forever cannot be used together")
			}
			if limit < 0 {
				return usagef("--limit must not be negative, not %d", limit)
			}
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			q := db.Model(&cache.CachedItem{}).
				Select(`?, ?, `+dialect.ValueSize(db.Dialector.Name())+` AS size`, column("key"), column("expires_at"))
			switch {
			case expired:
				q = q.Scopes(cache.Expired)
			case live:
				q = q.Scopes(cache.Live)
			case forever:
				q = q.Scopes(cache.Forever)
			}
			if prefix != "" {
				q = q.Where(`substr(?, 1, ?) = ?`, column("key"), utf8.RuneCountInString(prefix), prefix)
			}
			q = q.Order(clause.OrderBy{Columns: []clause.OrderByColumn{
				{Column: column("updated_at"), Desc: true}, {Column: column("id"), Desc: true}}})
			if limit > 0 {
				q = q.Limit(limit)
			}
			rows := []listed{}
			if err := q.Scan(&rows).Error; err != nil {
				return explain(cmd, db, fmt.Errorf("list: %w", err))
			}
			for i := range rows {
				if t := rows[i].ExpiresAt; t != nil {
					u := t.UTC()
					rows[i].ExpiresAt = &u
				}
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			return printList(cmd, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&expired, "expired", false, "only expired entries (not cleared yet)")
	f.BoolVar(&live, "live", false, "only live entries: unexpired or never expiring")
	f.BoolVar(&forever, "forever", false, "only entries that never expire")
	f.StringVar(&prefix, "prefix", "", "only keys that start with this")
	f.IntVar(&limit, "limit", 0, "at most this many entries (0: all)")
	return cmd
}

func printList(cmd *cobra.Command, rows []listed) error {
	now := time.Now()
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tEXPIRES\tSIZE")
	for _, r := range rows {
		exp := formatTime(r.ExpiresAt, "never")
		if r.ExpiresAt != nil && r.ExpiresAt.Before(now) {
			exp += " (expired)"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\n", displayKey(r.Key), exp, r.Size)
	}
	return w.Flush()
}
