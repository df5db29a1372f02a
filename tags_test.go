package cache_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

func tagsOf(t *testing.T, db *gorm.DB, key string) []string {
	t.Helper()
	tags, err := cache.Cached(db, key).Tags()
	require.NoError(t, err)
	return tags
}

func exists(t *testing.T, db *gorm.DB, key string) bool {
	t.Helper()
	ok, err := cache.Cached(db, key).Exists()
	require.NoError(t, err)
	return ok
}

// sideRows counts the rows of the tags table, stale ones included.
func sideRows(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Table("cached_items_tags").Count(&n).Error)
	return n
}

func TestTagsWrites(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		tagged := cache.WithTags(db, "b", "a", "b", "A")
		require.NoError(t, cache.Cached(tagged, "k").Set(1))
		require.Equal(t, []string{"A", "a", "b"}, tagsOf(t, db, "k"), "distinct, byte order, case-sensitive")

		// Set through another tagged session replaces the tags.
		require.NoError(t, cache.Cached(cache.WithTags(db, "c"), "k").Set(2))
		require.Equal(t, []string{"c"}, tagsOf(t, db, "k"))
		// Set without tags leaves the entry untagged.
		require.NoError(t, cache.Cached(db, "k").Set(3))
		require.Nil(t, tagsOf(t, db, "k"))
		n, err := cache.InvalidateTags(db, "c")
		require.NoError(t, err)
		require.Zero(t, n, "an entry rewritten without a tag does not carry it")
		require.True(t, exists(t, db, "k"))
		// WithTags with no tags writes untagged entries.
		require.NoError(t, cache.Cached(cache.WithTags(tagged), "k").Set(3))
		require.Nil(t, tagsOf(t, db, "k"))

		// Touch keeps the tags.
		require.NoError(t, cache.Cached(tagged, "k").Set(4))
		ok, err := cache.Cached(db, "k").Touch(cache.In(time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, []string{"A", "a", "b"}, tagsOf(t, db, "k"))

		// Add: when it writes it replaces the tags; when it does not, they stay.
		ok, err = cache.Cached(cache.WithTags(db, "x"), "k").Add(5)
		require.NoError(t, err)
		require.False(t, ok)
		require.Equal(t, []string{"A", "a", "b"}, tagsOf(t, db, "k"))
		ok, err = cache.Cached(cache.WithTags(db, "x"), "new").Add(5)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, []string{"x"}, tagsOf(t, db, "new"))
		// An Add that replaces an expired entry creates a new one: its old
		// tags go, without tags it is untagged.
		require.NoError(t, cache.Cached(tagged, "old").Set(1, cache.In(-time.Minute)))
		ok, err = cache.Cached(db, "old").Add(2)
		require.NoError(t, err)
		require.True(t, ok)
		require.Nil(t, tagsOf(t, db, "old"))
		n, err = cache.InvalidateTags(db, "a")
		require.NoError(t, err)
		require.Equal(t, int64(1), n, "only k carries a")
		require.True(t, exists(t, db, "old"))

		// Increment keeps the tags of a live entry, attaches the session's
		// when it creates the entry, and an expired entry is replaced.
		require.NoError(t, cache.Cached(cache.WithTags(db, "t1"), "c").Set(1))
		v, err := cache.Cached(cache.WithTags(db, "t2"), "c").Increment(1)
		require.NoError(t, err)
		require.Equal(t, int64(2), v)
		require.Equal(t, []string{"t1"}, tagsOf(t, db, "c"))
		v, err = cache.Cached(db, "c").Decrement(1)
		require.NoError(t, err)
		require.Equal(t, int64(1), v)
		require.Equal(t, []string{"t1"}, tagsOf(t, db, "c"))
		_, err = cache.Cached(cache.WithTags(db, "t2"), "c2").Increment(1)
		require.NoError(t, err)
		require.Equal(t, []string{"t2"}, tagsOf(t, db, "c2"))
		require.NoError(t, cache.Cached(cache.WithTags(db, "t1"), "c3").Set(1, cache.In(-time.Minute)))
		_, err = cache.Cached(cache.WithTags(db, "t3"), "c3").Increment(1)
		require.NoError(t, err)
		require.Equal(t, []string{"t3"}, tagsOf(t, db, "c3"))
		n, err = cache.InvalidateTags(db, "t1")
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		require.False(t, exists(t, db, "c"))
		require.True(t, exists(t, db, "c3"), "c3's old tag went with the expired entry")

		// SetMany and GetOrSet.
		require.NoError(t, cache.SetMany(cache.WithTags(db, "m"), map[string]any{"m1": 1, "m2": 2}))
		require.Equal(t, []string{"m"}, tagsOf(t, db, "m1"))
		got, err := cache.GetOrSet(cache.WithTags(db, "g"), "g1", func() (int, error) { return 7, nil })
		require.NoError(t, err)
		require.Equal(t, 7, got)
		require.Equal(t, []string{"g"}, tagsOf(t, db, "g1"))
		require.NoError(t, cache.SetMany(db, map[string]any{"m1": 3}))
		require.Nil(t, tagsOf(t, db, "m1"))
		n, err = cache.InvalidateTags(db, "m", "g")
		require.NoError(t, err)
		require.Equal(t, int64(2), n, "m2 and g1")
		require.True(t, exists(t, db, "m1"))

		// A miss has no tags.
		require.Nil(t, tagsOf(t, db, "missing"))
		require.NoError(t, cache.Cached(tagged, "exp").Set(1, cache.In(-time.Minute)))
		require.Nil(t, tagsOf(t, db, "exp"))
	})
}

func TestInvalidateTagsExact(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(cache.WithTags(db, "product:7"), "a").Set(1))
		require.NoError(t, cache.Cached(cache.WithTags(db, "product:7", "catalog"), "b").Set(1, cache.In(-time.Minute)))
		require.NoError(t, cache.Cached(cache.WithTags(db, "product:70"), "c").Set(1))
		require.NoError(t, cache.Cached(cache.WithTags(db, "Product:7"), "d").Set(1))
		require.NoError(t, cache.Cached(cache.WithTags(db, "product:%"), "e").Set(1))
		require.NoError(t, cache.Cached(db, "f").Set(1))
		n, err := cache.InvalidateTags(db, "product:7")
		require.NoError(t, err)
		require.Equal(t, int64(2), n, "live and expired entries carrying the tag")
		for _, k := range []string{"c", "d", "e", "f"} {
			require.True(t, exists(t, db, k), k)
		}
		n, err = cache.InvalidateTags(db, "product:7")
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = cache.InvalidateTags(db)
		require.NoError(t, err)
		require.Zero(t, n)
		// Side rows of the deleted entries are gone.
		require.Equal(t, int64(3), sideRows(t, db))

		// An entry carrying two of the tags counts once; its third tag's
		// side row goes with it.
		require.NoError(t, cache.Cached(cache.WithTags(db, "p", "q", "r"), "pq").Set(1))
		require.NoError(t, cache.Cached(cache.WithTags(db, "q"), "q1").Set(1))
		n, err = cache.InvalidateTags(db, "q", "p", "q")
		require.NoError(t, err)
		require.Equal(t, int64(2), n, "pq once, q1")
		require.False(t, exists(t, db, "pq"))
		require.Equal(t, int64(3), sideRows(t, db))
	})
}

func TestInvalidTags(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		many := make([]string, 33)
		for i := range many {
			many[i] = fmt.Sprint("t", i)
		}
		bad := [][]string{{""}, {"a\x00b"}, {"\xff"}, {strings.Repeat("é", 256)}, many}
		for _, tags := range bad {
			s := cache.WithTags(db, tags...)
			require.ErrorIs(t, cache.Cached(s, "k").Set(1), cache.ErrInvalidTag)
			_, err := cache.Cached(s, "k").Add(1)
			require.ErrorIs(t, err, cache.ErrInvalidTag)
			_, err = cache.Cached(s, "k").Increment(1)
			require.ErrorIs(t, err, cache.ErrInvalidTag)
			require.ErrorIs(t, cache.SetMany(s, map[string]any{"k": 1}), cache.ErrInvalidTag)
			_, err = cache.GetOrSet(s, "k", func() (int, error) { return 1, nil })
			require.ErrorIs(t, err, cache.ErrInvalidTag)
			if len(tags) == 1 {
				_, err = cache.InvalidateTags(db, "ok", tags[0])
				require.ErrorIs(t, err, cache.ErrInvalidTag)
			}
		}
		require.Zero(t, countRows(t, db), "nothing written")
		// 32 distinct tags (duplicates count once) and 255 characters are fine.
		require.NoError(t, cache.Cached(cache.WithTags(db, append(many[:31:31], "t0", strings.Repeat("é", 255))...), "k").Set(1))
		require.Len(t, tagsOf(t, db, "k"), 32)
		n, err := cache.InvalidateTags(db, strings.Repeat("é", 255))
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
	})
}

func TestInvalidateTagsInTransaction(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(cache.WithTags(db, "t"), "a").Set(1))
		rollback := errors.New("rollback")
		err := db.Transaction(func(tx *gorm.DB) error {
			n, err := cache.InvalidateTags(tx, "t")
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
			require.False(t, exists(t, tx, "a"))
			return rollback
		})
		require.ErrorIs(t, err, rollback)
		require.True(t, exists(t, db, "a"), "rolled back with the transaction")
		require.Equal(t, []string{"t"}, tagsOf(t, db, "a"))
		require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
			_, err := cache.InvalidateTags(tx, "t")
			return err
		}))
		require.False(t, exists(t, db, "a"))

		// A tagged write in a transaction that rolls back leaves no tag.
		require.NoError(t, cache.Cached(db, "b").Set(1))
		err = db.Transaction(func(tx *gorm.DB) error {
			require.NoError(t, cache.Cached(cache.WithTags(tx, "t"), "b").Set(2))
			return rollback
		})
		require.ErrorIs(t, err, rollback)
		require.Nil(t, tagsOf(t, db, "b"))
		n, err := cache.InvalidateTags(db, "t")
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

// TestInvalidateTagsLaterWriteKept: on PostgreSQL and MySQL a tagged write that
// commits after InvalidateTags (here: after its transaction began and
// deleted) keeps its entry.
func TestInvalidateTagsLaterWriteKept(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		if db.Dialector.Name() == "sqlite" {
			t.Skip("SQLite runs one writer at a time: no write interleaves")
		}
		require.NoError(t, cache.Cached(cache.WithTags(db, "t"), "old").Set(1))
		tx := db.Begin()
		n, err := cache.InvalidateTags(tx, "t")
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		// Another connection writes a new tagged entry and commits. On
		// MySQL it waits for the invalidation's locks (InnoDB locks the
		// range of the tag it read), so it commits after it.
		done := make(chan error, 1)
		go func() { done <- cache.Cached(cache.WithTags(db, "t"), "new").Set(1) }()
		if db.Dialector.Name() != "mysql" {
			require.NoError(t, <-done)
		}
		require.NoError(t, tx.Commit().Error)
		if db.Dialector.Name() == "mysql" {
			require.NoError(t, <-done)
		}
		require.True(t, exists(t, db, "new"))
		require.False(t, exists(t, db, "old"))
		require.Equal(t, []string{"t"}, tagsOf(t, db, "new"))
		n, err = cache.InvalidateTags(db, "t")
		require.NoError(t, err)
		require.Equal(t, int64(1), n, "its tag still finds it")
	})
}

func TestTagsConcurrentWriters(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		const writers, rounds = 4, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers+1)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					key := fmt.Sprint("k", i%5)
					var err error
					switch (w + i) % 4 {
					case 0:
						err = cache.Cached(cache.WithTags(db, "x", fmt.Sprint("w", w)), key).Set(i)
					case 1:
						err = cache.Cached(db, key).Set(i)
					case 2:
						err = cache.SetMany(cache.WithTags(db, "y"), map[string]any{key: i, "z" + key: i})
					case 3:
						_, err = cache.InvalidateTags(db, "x")
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		// Every entry is found by each tag it carries, and only by those.
		var items []cache.CachedItem
		require.NoError(t, db.Find(&items).Error)
		for _, it := range items {
			tags := tagsOf(t, db, it.Key)
			for _, tag := range tags {
				var keys []string
				require.NoError(t, db.Table("cached_items_tags").Where(map[string]any{"tag": tag}).Pluck("key", &keys).Error)
				require.Contains(t, keys, it.Key, "tag %q of %q", tag, it.Key)
			}
		}
		_, err := cache.InvalidateTags(db, "x", "y")
		require.NoError(t, err)
		for _, it := range items {
			tags := tagsOf(t, db, it.Key)
			require.Empty(t, tags, it.Key)
		}
	})
}

func TestDeletePrefix(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		keys := []string{"user:1", "user:10", "user:2", "User:3", "user", "users", "user:%", "user:_x",
			`user:\`, "user:é", "user:\U0010FFFF", "usez", "a", "user;"}
		for _, k := range keys {
			require.NoError(t, cache.Cached(db, k).Set(1, cache.In(time.Hour)))
		}
		require.NoError(t, cache.Cached(db, "user:old").Set(1, cache.In(-time.Minute)))
		n, err := cache.DeletePrefix(db, "user:")
		require.NoError(t, err)
		require.Equal(t, int64(9), n)
		for _, k := range []string{"User:3", "user", "users", "usez", "a", "user;"} {
			require.True(t, exists(t, db, k), k)
		}
		n, err = cache.DeletePrefix(db, "user:%")
		require.NoError(t, err)
		require.Zero(t, n)
		require.NoError(t, cache.Cached(db, "user:%x").Set(1))
		require.NoError(t, cache.Cached(db, "user:ax").Set(1))
		n, err = cache.DeletePrefix(db, "user:%")
		require.NoError(t, err)
		require.Equal(t, int64(1), n, "%% is literal")
		n, err = cache.DeletePrefix(db, "\U0010FFFF")
		require.NoError(t, err)
		require.Zero(t, n)
		require.NoError(t, cache.Cached(db, "\U0010FFFF\U0010FFFFa").Set(1))
		n, err = cache.DeletePrefix(db, "\U0010FFFF")
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		_, err = cache.DeletePrefix(db, "")
		require.ErrorIs(t, err, cache.ErrInvalidKey)
		_, err = cache.DeletePrefix(db, "a\x00")
		require.ErrorIs(t, err, cache.ErrInvalidKey)
		require.Equal(t, int64(7), countRows(t, db))

		// In a transaction it rolls back with it.
		rollback := errors.New("rollback")
		err = db.Transaction(func(tx *gorm.DB) error {
			n, err := cache.DeletePrefix(tx, "us")
			require.NoError(t, err)
			require.Equal(t, int64(5), n)
			return rollback
		})
		require.ErrorIs(t, err, rollback)
		require.Equal(t, int64(7), countRows(t, db))
	})
}

func TestDeletePrefixOtherTable(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		other := db.Table("prefix_cache")
		require.NoError(t, cache.AutoMigrate(other))
		require.NoError(t, cache.Cached(other, "p:1").Set(1))
		require.NoError(t, cache.Cached(cache.WithTags(other, "t"), "p:2").Set(1))
		require.NoError(t, cache.Cached(db, "p:1").Set(1))
		n, err := cache.DeletePrefix(other, "p:")
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
		require.True(t, exists(t, db, "p:1"))
		require.NoError(t, cache.Cached(cache.WithTags(other, "t"), "p:3").Set(1))
		require.NoError(t, cache.Cached(cache.WithTags(db, "t"), "p:3").Set(1))
		n, err = cache.InvalidateTags(other, "t")
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		require.True(t, exists(t, db, "p:3"))
	})
}

// TestDeletePrefixCollation: on PostgreSQL a key column in a collation that
// does not sort in byte order (ICU's root locale ignores punctuation at
// first) still matches exactly, by a byte-wise scan.
func TestDeletePrefixCollation(t *testing.T) {
	db := cachetest.Postgres(t).DB
	require.NoError(t, db.Exec(`ALTER TABLE cached_items ALTER COLUMN "key" TYPE varchar(255) COLLATE "und-x-icu"`).Error)
	keys := []string{"a-b", "a-", "ab", "a-B", "A-b", "a.b", "a"}
	for _, k := range keys {
		require.NoError(t, cache.Cached(db, k).Set(1))
	}
	n, err := cache.DeletePrefix(db, "a-")
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	for _, k := range []string{"ab", "A-b", "a.b", "a"} {
		require.True(t, exists(t, db, k), k)
	}
}

// TestDeletePrefixUsesKeyIndex reads PostgreSQL's plan of the statement
// DeletePrefix runs, on a table large enough for a scan to cost more.
func TestDeletePrefixUsesKeyIndex(t *testing.T) {
	db := cachetest.Postgres(t).DB
	require.NoError(t, db.Exec(`INSERT INTO cached_items ("key", "value", "created_at", "updated_at") `+
		`SELECT 'k:' || i, '1', now(), now() FROM generate_series(1, 20000) AS i`).Error)
	require.NoError(t, db.Exec(`ANALYZE cached_items`).Error)
	log := &sqlLog{Interface: logger.Discard}
	n, err := cache.DeletePrefix(db.Session(&gorm.Session{Logger: log}), "k:12")
	require.NoError(t, err)
	require.Equal(t, int64(1111), n) // k:12, k:12x, k:12xx, k:12xxx
	stmt := log.sql[len(log.sql)-1]
	require.True(t, strings.HasPrefix(stmt, "DELETE"), stmt)
	var plan []string
	require.NoError(t, db.Raw("EXPLAIN "+strings.NewReplacer("$1", "'k:12'", "$2", "'k:13'").Replace(stmt)).Scan(&plan).Error)
	require.Contains(t, strings.Join(plan, "\n"), "Index Cond", plan)
	require.NotContains(t, strings.Join(plan, "\n"), "Seq Scan", plan)
}

func TestListAndInspectTags(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(cache.WithTags(db, "b", "a"), "k1").Set(1))
		require.NoError(t, cache.Cached(cache.WithTags(db, "b"), "k2").Set(2))
		require.NoError(t, cache.Cached(db, "k3").Set(3))
		p, err := cache.List(db, cache.ListOptions{Tag: "b"})
		require.NoError(t, err)
		require.Len(t, p.Entries, 2)
		require.Equal(t, "k2", p.Entries[0].Key)
		require.Equal(t, []string{"b"}, p.Entries[0].Tags)
		require.Equal(t, []string{"a", "b"}, p.Entries[1].Tags)
		p, err = cache.List(db, cache.ListOptions{Tag: "B"})
		require.NoError(t, err)
		require.Empty(t, p.Entries)
		info, ok, err := cache.Inspect(db, "k1")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, []string{"a", "b"}, info.Tags)
		info, _, err = cache.Inspect(db, "k3")
		require.NoError(t, err)
		require.Nil(t, info.Tags)
	})
}

// eachTagged runs fn as each does.
func eachTagged(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	each(t, fn)
}

// A tagged rewrite replaces the key's side rows: those of the tags it lost
// go, so retagging one entry does not grow the side table.
func TestRetagReplacesSideRows(t *testing.T) {
	eachTagged(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(cache.WithTags(db, "a", "b"), "k").Set(1))
		require.Equal(t, int64(2), sideRows(t, db))
		for i := range 5 {
			tag := fmt.Sprint("t", i)
			require.NoError(t, cache.Cached(cache.WithTags(db, "b", tag), "k").Set(1))
			require.Equal(t, int64(2), sideRows(t, db), tag)
		}
		require.NoError(t, cache.Cached(cache.WithTags(db, "b", "t4"), "k").Set(2)) // same tags
		require.Equal(t, int64(2), sideRows(t, db))
		n, err := cache.InvalidateTags(db, "t3")
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = cache.InvalidateTags(db, "t4")
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
	})
}

// AutoMigrate brings a table migrated by an earlier version up to date: on
// SQLite, whose triggers keep the side table in line, a table without them
// gets them, so its tagged writes are found by InvalidateTags. A side table
// of the earlier layout (rowid, indexed by key and by tag) is kept and
// serves.
func TestAutoMigrateUpgradesTags(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for _, table := range []string{"cached_items", "older_cache"} {
				db := b.DB
				if table != "cached_items" {
					db = b.DB.Table(table)
					if b.DB.Dialector.Name() == "sqlite" {
						require.NoError(t, b.DB.Exec(`CREATE TABLE "older_cache_tags" ("key" varchar(255) NOT NULL, `+
							`"tag" varchar(255) NOT NULL, PRIMARY KEY ("key", "tag"), UNIQUE ("tag", "key"))`).Error)
					}
					require.NoError(t, cache.AutoMigrate(db))
					t.Cleanup(func() {
						require.NoError(t, b.DB.Migrator().DropTable(table+"_tags", table))
					})
				}
				if b.DB.Dialector.Name() == "sqlite" {
					// As an earlier version left it: no triggers.
					for _, tr := range []string{"_tags_insert", "_tags_update"} {
						require.NoError(t, b.DB.Exec(`DROP TRIGGER "`+table+tr+`"`).Error)
					}
				}
				require.NoError(t, cache.AutoMigrate(db))
				require.NoError(t, cache.AutoMigrate(db)) // idempotent
				require.NoError(t, cache.Cached(cache.WithTags(db, "x"), "k1").Set(1))
				require.NoError(t, cache.Cached(db, "k2").Set(1))
				require.NoError(t, cache.Cached(cache.WithTags(db, "y"), "k2").Set(1))
				require.NoError(t, cache.Cached(cache.WithTags(db, "x", "z"), "k3").Set(1))
				require.NoError(t, cache.Cached(cache.WithTags(db, "z"), "k3").Set(1)) // loses x
				n, err := cache.InvalidateTags(db, "x", "y")
				require.NoError(t, err, table)
				require.Equal(t, int64(2), n, table)
				var side int64
				require.NoError(t, b.DB.Table(table+"_tags").Count(&side).Error)
				require.Equal(t, int64(1), side, "k3's z alone")
				_, err = cache.Trim(db, cache.Limits{})
				require.NoError(t, err)
				require.True(t, exists(t, db, "k3"))
				n, err = cache.InvalidateTags(db, "z")
				require.NoError(t, err, table)
				require.Equal(t, int64(1), n, table)
			}
		})
	}
}
