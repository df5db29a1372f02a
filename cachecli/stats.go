package cachecli

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// stats is what the stats command prints.
type stats struct {
	Total     int64 `json:"total"`
	Live      int64 `json:"live"`
	Unexpired int64 `json:"unexpired"`
	Expired   int64 `json:"expired"`
	Forever   int64 `json:"forever"`
	// ValueBytes is the total length of the values' JSON text.
	ValueBytes int64 `json:"value_bytes"`
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
		Long: `Count the cache entries: all, live (what reads see: unexpired or forever),
unexpired (an expiry still to come), expired (not cleared yet) and forever
(never expiring). Also show the total size of the values, the size on disk
where the database tells it, and the oldest and newest expiry. It reads every
value: on a large table it takes as long as a full scan.

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
				return c.explain(cmd, db, err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			return printStats(cmd, st)
		},
	}
}

func readStats(db *gorm.DB) (stats, error) {
	counts, err := cache.Stats(db)
	if err != nil {
		return stats{}, err
	}
	m, err := cache.Measure(db)
	if err != nil {
		return stats{}, err
	}
	st := stats{
		Total: counts.Total, Live: counts.Live, Unexpired: counts.Unexpired, Expired: counts.Expired, Forever: counts.Forever,
		ValueBytes: m.ValueBytes, OldestExpiry: m.OldestExpiry, NewestExpiry: m.NewestExpiry,
	}
	if m.DiskBytes >= 0 {
		st.SizeBytes, st.SizeOf = &m.DiskBytes, m.DiskOf
	}
	return st, nil
}

func printStats(cmd *cobra.Command, st stats) error {
	size := "unknown"
	if st.SizeBytes != nil {
		size = humanBytes(*st.SizeBytes)
		if st.SizeOf == "database" {
			size += " (whole database)"
		}
	}
	var t table
	t.add("total", strconv.FormatInt(st.Total, 10))
	t.add("live", strconv.FormatInt(st.Live, 10))
	t.add("unexpired", strconv.FormatInt(st.Unexpired, 10))
	t.add("expired", strconv.FormatInt(st.Expired, 10))
	t.add("forever", strconv.FormatInt(st.Forever, 10))
	t.add("values", humanBytes(st.ValueBytes))
	t.add("size on disk", size)
	t.add("oldest expiry", formatTime(st.OldestExpiry, "-"))
	t.add("newest expiry", formatTime(st.NewestExpiry, "-"))
	return t.print(cmd.OutOrStdout())
}
