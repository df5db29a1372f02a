package cachecli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/dialect"
)

// listed is one line of the list command.
type listed struct {
	Key       string     `json:"key"`
	ExpiresAt *time.Time `json:"expires_at"`
	// Size is the length of the value's JSON text, in bytes.
	Size int64 `json:"size"`
	// Tags are the entry's tags (cache.WithTags), in byte order.
	Tags    []string   `json:"tags" gorm:"-"`
	RawTags cache.JSON `json:"-" gorm:"column:tags"`
}

func (c *cli) listCommand() *cobra.Command {
	var (
		expired, live, forever bool
		prefix, tag            string
		limit                  int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List entries, most recently written first",
		Long: `List the entries with their key, expiry and size (the length in bytes of the
value's JSON text as the database gives it back: PostgreSQL's jsonb adds
spaces), most recently written first. Without a filter it lists
every entry, expired ones too; --expired, --live and --forever choose one
kind. --prefix keeps the keys that start with it (case-sensitive), --tag the
entries tagged with it (cache.WithTags).`,
		Example: `  cache list --limit 20
  cache list --live --prefix user:
  cache list --tag product:7
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
				Select(`"cached_items"."key", "cached_items"."expires_at", "cached_items"."tags", ` + dialect.ValueSize(db.Dialector.Name()) + ` AS "size"`)
			switch {
			case expired:
				q = q.Scopes(cache.Expired)
			case live:
				q = q.Scopes(cache.Live)
			case forever:
				q = q.Scopes(cache.Forever)
			}
			if prefix != "" {
				q = q.Where(`substr("cached_items"."key", 1, ?) = ?`, utf8.RuneCountInString(prefix), prefix)
			}
			if tag != "" {
				q = q.Where(dialect.HasTag(db.Dialector.Name()), tag)
			}
			q = q.Order(`"cached_items"."updated_at" DESC, "cached_items"."id" DESC`)
			if limit > 0 {
				q = q.Limit(limit)
			}
			rows := []listed{}
			if err := q.Scan(&rows).Error; err != nil {
				return explain(cmd, db, fmt.Errorf("list: %w", err))
			}
			for i := range rows {
				rows[i].Tags = []string{}
				if len(rows[i].RawTags) > 0 {
					if err := json.Unmarshal(rows[i].RawTags, &rows[i].Tags); err != nil {
						return fmt.Errorf("list: tags of %q: %w", rows[i].Key, err)
					}
				}
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
	f.StringVar(&tag, "tag", "", "only entries tagged with this")
	f.IntVar(&limit, "limit", 0, "at most this many entries (0: all)")
	return cmd
}

func printList(cmd *cobra.Command, rows []listed) error {
	now := time.Now()
	var buf strings.Builder
	w := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tEXPIRES\tSIZE\tTAGS")
	for _, r := range rows {
		exp := formatTime(r.ExpiresAt, "never")
		if r.ExpiresAt != nil && r.ExpiresAt.Before(now) {
			exp += " (expired)"
		}
		tags := make([]string, len(r.Tags))
		for i, t := range r.Tags {
			tags[i] = displayKey(t)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", displayKey(r.Key), exp, r.Size, strings.Join(tags, " "))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// An entry without tags leaves its last cell empty: no trailing blanks.
	lines := strings.SplitAfter(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \n")
		if l != lines[i] {
			lines[i] += "\n"
		}
	}
	_, err := io.WriteString(cmd.OutOrStdout(), strings.Join(lines, ""))
	return err
}
