package cachecli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	cache "github.com/gormcache/cache"
)

// stats is what the stats command prints.
type stats struct {
	Total     int64 `json:"total"`
	Expired   int64 `json:"expired"`
	Unexpired int64 `json:"unexpired"`
	Forever   int64 `json:"forever"`
	// SizeBytes is nil when the database does not tell the size.
	SizeBytes *int64 `json:"size_bytes"`
	// SizeOf says what SizeBytes measures: "table" or "database".
	SizeOf       string     `json:"size_of,omitempty"`
	OldestExpiry *time.Time `json:"oldest_expiry"`
	NewestExpiry *time.Time `json:"newest_expiry"`
}

func (c *cli) statsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Count the entries and show the table's size",
		Long: `Count the cache entries: all, expired (not cleared yet), unexpired and those
that never expire. Also show the size on disk, where the database tells it,
and the oldest and newest expiry.

Sizes: on PostgreSQL, the table with its indexes; on SQLite, the table with
its indexes when SQLite has the dbstat table, or else the whole database file.`,
		Example: `  cache stats
  cache stats --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			st, err := readStats(db)
			if err != nil {
				return explain(cmd, db, err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			return printStats(cmd, st)
		},
	}
}

func readStats(db *gorm.DB) (stats, error) {
	var st stats
	counts, err := cache.Stats(db)
	if err != nil {
		return st, err
	}
	st.Total, st.Expired, st.Unexpired, st.Forever = counts.Total, counts.Expired, counts.Unexpired, counts.Forever
	size, err := sizeOnDisk(db)
	if err != nil {
		return st, err
	}
	if size != nil {
		st.SizeBytes, st.SizeOf = &size.Bytes, size.Of
	}
	if st.OldestExpiry, err = expiry(db, "ASC"); err != nil {
		return st, err
	}
	if st.NewestExpiry, err = expiry(db, "DESC"); err != nil {
		return st, err
	}
	return st, nil
}

// expiry returns the first expiry in the given order, or nil when no entry
// expires.
func expiry(db *gorm.DB, order string) (*time.Time, error) {
	var items []cache.CachedItem
	err := db.Model(&cache.CachedItem{}).Select("?", column("expires_at")).
		Where(clause.Neq{Column: column("expires_at"), Value: nil}).
		Order(clause.OrderByColumn{Column: column("expires_at"), Desc: order == "DESC"}).Limit(1).
		Find(&items).Error
	if err != nil {
		return nil, fmt.Errorf("read expiries: %w", err)
	}
	if len(items) == 0 || items[0].ExpiresAt == nil {
		return nil, nil
	}
	t := items[0].ExpiresAt.UTC()
	return &t, nil
}

func printStats(cmd *cobra.Command, st stats) error {
	size := "unknown"
	if st.SizeBytes != nil {
		size = humanBytes(*st.SizeBytes)
		if st.SizeOf == "database" {
			size += " (whole database)"
		}
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "total\t%d\n", st.Total)
	fmt.Fprintf(w, "expired\t%d\n", st.Expired)
	fmt.Fprintf(w, "unexpired\t%d\n", st.Unexpired)
	fmt.Fprintf(w, "forever\t%d\n", st.Forever)
	fmt.Fprintf(w, "size on disk\t%s\n", size)
	fmt.Fprintf(w, "oldest expiry\t%s\n", formatTime(st.OldestExpiry, "-"))
	fmt.Fprintf(w, "newest expiry\t%s\n", formatTime(st.NewestExpiry, "-"))
	return w.Flush()
}

// formatTime formats t in UTC to the second, or returns none for nil.
func formatTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// humanBytes formats n bytes with a binary unit: "512 B", "48.0 KiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
