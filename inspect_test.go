package cache_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// listAll walks every page of List with opts and returns the keys in order.
func listAll(t *testing.T, db *gorm.DB, opts cache.ListOptions) []string {
	t.Helper()
	var keys []string
	for pages := 0; ; pages++ {
		require.Less(t, pages, 1000, "List does not end")
		p, err := cache.List(db, opts)
		require.NoError(t, err)
		for _, e := range p.Entries {
			keys = append(keys, e.Key)
		}
		if p.Next == "" {
			return keys
		}
		require.NotEmpty(t, p.Entries)
		opts.After = p.Next
	}
}

func TestListFiltersAndPages(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *gorm.DB) {
		// Stored in this order, so listed in the reverse one.
		for _, e := range []struct {
			key string
			exp []cache.Expiration
		}{
			{"user:1", nil},
			{"user:2", []cache.Expiration{cache.In(time.Hour)}},
			{"USER:3", []cache.Expiration{cache.In(-time.Hour)}},
			{"100%_off", nil},
			{`a\b`, []cache.Expiration{cache.In(time.Hour)}},
			{"1000 off", []cache.Expiration{cache.In(-time.Minute)}},
			{"Ünïcode", nil},
			{"ünïcode", nil},
		} {
			require.NoError(t, cache.Cached(db, e.key).Set(map[string]int{"n": 1}, e.exp...))
		}
		all := []string{"ünïcode", "Ünïcode", "1000 off", `a\b`, "100%_off", "USER:3", "user:2", "user:1"}
		require.Equal(t, all, listAll(t, db, cache.ListOptions{}))
		for limit := 1; limit <= 9; limit++ {
			require.Equal(t, all, listAll(t, db, cache.ListOptions{Limit: limit}), "limit %d", limit)
		}

		st, err := cache.Stats(db)
		require.NoError(t, err)
		for status, want := range map[cache.Status][]string{
			cache.StatusAll:       all,
			"":                    all,
			cache.StatusLive:      {"ünïcode", "Ünïcode", `a\b`, "100%_off", "user:2", "user:1"},
			cache.StatusUnexpired: {`a\b`, "user:2"},
			cache.StatusExpired:   {"1000 off", "USER:3"},
			cache.StatusForever:   {"ünïcode", "Ünïcode", "100%_off", "user:1"},
		} {
			got := listAll(t, db, cache.ListOptions{Status: status, Limit: 1})
			require.Equal(t, want, got, "status %q", status)
			count := map[cache.Status]int64{
				cache.StatusAll: st.Total, "": st.Total, cache.StatusLive: st.Live, cache.StatusUnexpired: st.Unexpired,
				cache.StatusExpired: st.Expired, cache.StatusForever: st.Forever,
			}[status]
			require.EqualValues(t, count, len(got), "Stats and List agree on %q", status)
		}

		for contains, want := range map[string][]string{
			"user":   {"USER:3", "user:2", "user:1"},
			"UsEr:":  {"USER:3", "user:2", "user:1"},
			"%":      {"100%_off"},
			"_":      {"100%_off"},
			"0%_":    {"100%_off"},
			"00 ":    {"1000 off"},
			`\`:      {`a\b`},
			`a\b`:    {`a\b`},
			"ü":      {"ünïcode"}, // ASCII case only
			"Ü":      {"Ünïcode"},
			"NÏ":     nil,
			"nï":     {"ünïcode", "Ünïcode"},
			"absent": nil,
			"\x00":   nil,
			"\xff":   nil,
		} {
			require.Equal(t, want, listAll(t, db, cache.ListOptions{Contains: contains}), "contains %q", contains)
		}
		require.Equal(t, []string{"user:2", "user:1"}, listAll(t, db, cache.ListOptions{Prefix: "user:"}))
		require.Equal(t, []string{"user:2"}, listAll(t, db, cache.ListOptions{Prefix: "user", Contains: "2", Status: cache.StatusLive}))
		require.Equal(t, []string{"Ünïcode"}, listAll(t, db, cache.ListOptions{Prefix: "Ün"}))

		// A page carries metadata, never values.
		p, err := cache.List(db, cache.ListOptions{Contains: "user:2"})
		require.NoError(t, err)
		require.Len(t, p.Entries, 1)
		e := p.Entries[0]
		require.Nil(t, e.Value)
		require.Equal(t, cache.StatusUnexpired, e.Status)
		require.NotNil(t, e.ExpiresAt)
		require.Equal(t, time.UTC, e.ExpiresAt.Location())
		require.WithinDuration(t, time.Now().Add(time.Hour), *e.ExpiresAt, time.Minute)
		require.WithinDuration(t, time.Now(), e.CreatedAt, time.Minute)
		require.Equal(t, time.UTC, e.UpdatedAt.Location())
		full, ok, err := cache.Inspect(db, "user:2")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, int64(len(full.Value)), e.Size)
		require.Equal(t, e.ID, full.ID)

		// A cursor stays valid while the entries it passed go away.
		p, err = cache.List(db, cache.ListOptions{Limit: 3})
		require.NoError(t, err)
		_, err = cache.Clear(db)
		require.NoError(t, err)
		require.NoError(t, cache.Cached(db, "newer").Set(1))
		p, err = cache.List(db, cache.ListOptions{After: p.Next})
		require.NoError(t, err)
		require.Empty(t, p.Entries)
		require.Empty(t, p.Next)
	})
}

func TestListRefusesBadOptions(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *gorm.DB) {
		for _, after := range []string{"x", "-1", "0", "1.5", "99999999999999999999"} {
			_, err := cache.List(db, cache.ListOptions{After: after})
			require.ErrorIs(t, err, cache.ErrInvalidCursor, after)
		}
		_, err := cache.List(db, cache.ListOptions{Status: "Live"})
		require.ErrorIs(t, err, cache.ErrInvalidStatus)
		require.EqualError(t, err, `cache: list: cache: invalid status "Live": use all, live, unexpired, expired or forever`)
		_, err = cache.ParseStatus("fresh")
		require.ErrorIs(t, err, cache.ErrInvalidStatus)
		for _, s := range []string{"all", "live", "unexpired", "expired", "forever"} {
			st, err := cache.ParseStatus(s)
			require.NoError(t, err)
			require.Equal(t, cache.Status(s), st)
		}
		st, err := cache.ParseStatus("")
		require.NoError(t, err)
		require.Equal(t, cache.StatusAll, st)

		// The session rules of every cache function.
		_, err = cache.List(db.Where(`"key" = ?`, "k"), cache.ListOptions{})
		require.ErrorIs(t, err, cache.ErrUnsupportedSession)
		_, _, err = cache.Inspect(db.Table("no such; table"), "k")
		require.ErrorIs(t, err, cache.ErrInvalidTable)
		_, err = cache.Measure(db.Table("x y"))
		require.ErrorIs(t, err, cache.ErrInvalidTable)
	})
}

func TestListPageSize(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *gorm.DB) {
		values := map[string]any{}
		for i := range 1005 {
			values[fmt.Sprintf("k%04d", i)] = i
		}
		require.NoError(t, cache.SetMany(db, values))
		p, err := cache.List(db, cache.ListOptions{})
		require.NoError(t, err)
		require.Len(t, p.Entries, 100, "default limit")
		p, err = cache.List(db, cache.ListOptions{Limit: 5000})
		require.NoError(t, err)
		require.Len(t, p.Entries, 1000, "most entries per page")
		require.NotEmpty(t, p.Next)
		p, err = cache.List(db, cache.ListOptions{Limit: 5000, After: p.Next})
		require.NoError(t, err)
		require.Len(t, p.Entries, 5)
		require.Empty(t, p.Next)
	})
}

// TestListPageEnds: a page that holds exactly the last entries has no next
// page, and the key filter folds exactly A to Z (the ends included) on both
// sides.
func TestListPageEnds(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *gorm.DB) {
		for _, k := range []string{"xAZx", "xazx", "x@[x"} {
			require.NoError(t, cache.Cached(db, k).Set(k))
		}
		p, err := cache.List(db, cache.ListOptions{Limit: 3})
		require.NoError(t, err)
		require.Len(t, p.Entries, 3)
		require.Empty(t, p.Next, "exactly the last entries: no next page")
		p, err = cache.List(db, cache.ListOptions{Limit: 2})
		require.NoError(t, err)
		require.NotEmpty(t, p.Next)
		p, err = cache.List(db, cache.ListOptions{Limit: 1, After: p.Next})
		require.NoError(t, err)
		require.Len(t, p.Entries, 1)
		require.Empty(t, p.Next)

		for _, q := range []string{"AZ", "az", "aZ"} {
			p, err = cache.List(db, cache.ListOptions{Contains: q})
			require.NoError(t, err)
			var keys []string
			for _, e := range p.Entries {
				keys = append(keys, e.Key)
			}
			require.ElementsMatch(t, []string{"xAZx", "xazx"}, keys, "Contains %q", q)
		}
	})
}

func TestInspect(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "live").Set([]int{1, 2}))
		require.NoError(t, cache.Cached(db, "old").Set("gone", cache.In(-time.Minute)))

		e, ok, err := cache.Inspect(db, "old")
		require.NoError(t, err)
		require.True(t, ok, "expired entries are inspected too")
		require.Equal(t, cache.StatusExpired, e.Status)
		require.JSONEq(t, `"gone"`, string(e.Value))
		require.Equal(t, int64(len(e.Value)), e.Size)
		require.Equal(t, row(t, db, "old").ID, e.ID)
		require.Equal(t, time.UTC, e.ExpiresAt.Location())

		e, ok, err = cache.Inspect(db, "live")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, cache.StatusForever, e.Status)
		require.Nil(t, e.ExpiresAt)
		require.JSONEq(t, `[1,2]`, string(e.Value))

		_, ok, err = cache.Inspect(db, "missing")
		require.NoError(t, err)
		require.False(t, ok)

		for _, bad := range []string{"", "\xff", "a\x00b"} {
			_, _, err = cache.Inspect(db, bad)
			require.ErrorIs(t, err, cache.ErrInvalidKey, "%q", bad)
		}
	})
}

func TestMeasure(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *gorm.DB) {
		m, err := cache.Measure(db)
		require.NoError(t, err)
		require.Zero(t, m.ValueBytes)
		require.Nil(t, m.OldestExpiry)
		require.Nil(t, m.NewestExpiry)
		require.Positive(t, m.DiskBytes, "both databases tell a size")
		require.Contains(t, []string{"table", "database"}, m.DiskOf)

		soon, later := time.Now().Add(-time.Hour).UTC(), time.Now().Add(24*time.Hour).UTC()
		require.NoError(t, cache.Cached(db, "a").Set("x", cache.At(soon)))
		require.NoError(t, cache.Cached(db, "b").Set(map[string]string{"k": "v"}, cache.At(later)))
		require.NoError(t, cache.Cached(db, "c").Set(12345))
		m, err = cache.Measure(db)
		require.NoError(t, err)
		var sum int64
		p, err := cache.List(db, cache.ListOptions{})
		require.NoError(t, err)
		for _, e := range p.Entries {
			sum += e.Size
		}
		require.Equal(t, sum, m.ValueBytes)
		require.Positive(t, m.ValueBytes)
		require.NotNil(t, m.OldestExpiry)
		sameTime(t, soon, *m.OldestExpiry)
		sameTime(t, later, *m.NewestExpiry)
		require.Equal(t, time.UTC, m.NewestExpiry.Location())
	})
}

// The inspection API reads the table of the session: db.Table names
// another cache, independent of cached_items.
func TestInspectionFollowsTable(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *gorm.DB) {
		other := db.Table("Other_Cache")
		require.NoError(t, other.AutoMigrate(&cache.CachedItem{}))
		t.Cleanup(func() { _ = db.Migrator().DropTable("Other_Cache") })
		now := time.Now().UTC()
		exp := now.Add(time.Hour)
		require.NoError(t, db.Table("Other_Cache").Create(&cache.CachedItem{
			Key: "elsewhere", Value: cache.JSON(`"x"`), ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now,
		}).Error)
		require.NoError(t, cache.Cached(db, "here").Set(1))

		require.Equal(t, []string{"elsewhere"}, listAll(t, db.Table("Other_Cache"), cache.ListOptions{}))
		require.Equal(t, []string{"here"}, listAll(t, db, cache.ListOptions{}))
		e, ok, err := cache.Inspect(db.Table("Other_Cache"), "elsewhere")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, `"x"`, string(e.Value))
		_, ok, err = cache.Inspect(db.Table("Other_Cache"), "here")
		require.NoError(t, err)
		require.False(t, ok)
		m, err := cache.Measure(db.Table("Other_Cache"))
		require.NoError(t, err)
		require.EqualValues(t, 3, m.ValueBytes)
		require.Positive(t, m.DiskBytes, "the size of a table whose name has capitals")
		if db.Dialector.Name() == "postgres" {
			// A table in a schema off the search_path, named with it.
			schema := "Off_Path_" + strconv.FormatInt(time.Now().UnixNano(), 36)
			require.NoError(t, db.Exec(`CREATE SCHEMA "`+schema+`"`).Error)
			t.Cleanup(func() { _ = db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`).Error })
			qualified := db.Table(schema + ".Other_Cache").Session(&gorm.Session{})
			require.NoError(t, qualified.AutoMigrate(&cache.CachedItem{}))
			require.NoError(t, qualified.Create(&cache.CachedItem{Key: "far", Value: cache.JSON(`1`), CreatedAt: now, UpdatedAt: now}).Error)
			require.Equal(t, []string{"far"}, listAll(t, qualified, cache.ListOptions{}))
			m, err = cache.Measure(qualified)
			require.NoError(t, err)
			require.Positive(t, m.DiskBytes, "the size of a schema-qualified table")
			require.Equal(t, "table", m.DiskOf)
		}
	})
}
