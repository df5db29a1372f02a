package cache_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// refuseKeyTrigger makes every insert (event "INSERT") or delete
// ("DELETE") of key fail, on every database.
func refuseKeyTrigger(t *testing.T, b cachetest.Backend, event, key string) {
	t.Helper()
	row := "NEW"
	if event == "DELETE" {
		row = "OLD"
	}
	if b.Name == "mysql" {
		require.NoError(t, b.DB.Exec("CREATE TRIGGER gormcache_refuse BEFORE "+event+" ON cached_items FOR EACH ROW "+
			"BEGIN IF "+row+".`key` = '"+key+"' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by trigger'; END IF; END").Error)
		return
	}
	if b.DB.Dialector.Name() == "postgres" { // directly or through PgBouncer
		require.NoError(t, b.DB.Exec(`CREATE FUNCTION gormcache_refuse() RETURNS trigger LANGUAGE plpgsql AS `+
			`$$ BEGIN RAISE EXCEPTION 'refused by trigger'; END $$`).Error)
		require.NoError(t, b.DB.Exec(`CREATE TRIGGER gormcache_refuse BEFORE `+event+` ON cached_items `+
			`FOR EACH ROW WHEN (`+row+`.key = '`+key+`') EXECUTE FUNCTION gormcache_refuse()`).Error)
		return
	}
	require.NoError(t, b.DB.Exec(`CREATE TRIGGER gormcache_refuse BEFORE `+event+` ON cached_items `+
		`WHEN `+row+`.key = '`+key+`' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END`).Error)
}

// dropRefuseTrigger drops the trigger of refuseKeyTrigger.
func dropRefuseTrigger(t *testing.T, b cachetest.Backend) {
	t.Helper()
	drop := "DROP TRIGGER gormcache_refuse"
	if b.DB.Dialector.Name() == "postgres" {
		drop += " ON cached_items"
	}
	require.NoError(t, b.DB.Exec(drop).Error)
}

// TestSetManyAllOrNothingAcrossChunks: SetMany writes more than one chunk
// (500 keys) in one transaction, so that a failure in a later chunk leaves
// nothing of the earlier ones, on its own and inside a caller's
// transaction, which goes on and commits its own writes.
func TestSetManyAllOrNothingAcrossChunks(t *testing.T) {
	t.Parallel()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			values := make(map[string]any, 600)
			for i := range 600 {
				values[fmt.Sprintf("k%04d", i)] = i
			}
			refuseKeyTrigger(t, b, "INSERT", "k0599") // in the second chunk: keys go in order

			err := cache.SetMany(b.DB, values)
			require.ErrorContains(t, err, "refused by trigger")
			require.Zero(t, countRows(t, b.DB), "the first chunk was written")

			err = b.DB.Transaction(func(tx *gorm.DB) error {
				require.NoError(t, cache.Cached(tx, "before").Set(1))
				require.ErrorContains(t, cache.SetMany(tx, values), "refused by trigger")
				// The caller's transaction is still usable (PostgreSQL
				// aborts a transaction on an error, unless it is rolled
				// back to a savepoint) and commits.
				return cache.Cached(tx, "after").Set(2)
			})
			require.NoError(t, err)
			var keys []string
			require.NoError(t, b.DB.Model(&cache.CachedItem{}).Order(`"key"`).Pluck("key", &keys).Error)
			require.Equal(t, []string{"after", "before"}, keys, "the first chunk was written in the caller's transaction")
		})
	}
}

// TestSetManyChunks pins where SetMany's statements end: after 500 rows,
// or once the keys and values of a statement reach 1 MiB, whichever comes
// first (MySQL's max_allowed_packet), and never between.
func TestSetManyChunks(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		write := func(values map[string]any) []int64 {
			t.Helper()
			log := &sqlLog{Interface: logger.Discard}
			require.NoError(t, cache.SetMany(db.Session(&gorm.Session{Logger: log}), values))
			return log.matching("INSERT INTO")
		}
		small := map[string]any{}
		for i := range 1200 {
			small[fmt.Sprintf("small:%04d", i)] = i
		}
		require.Equal(t, []int64{500, 500, 200}, write(small), "rows per statement")

		// Three values of 400 KiB: the first two stay under 1 MiB, the
		// third passes it and ends the statement.
		big := map[string]any{}
		for i := range 4 {
			big[fmt.Sprintf("big:%d", i)] = strings.Repeat("x", 400<<10)
		}
		require.Equal(t, []int64{3, 1}, write(big), "rows per statement")

		// Two rows of exactly 1 MiB in all (keys and JSON text) end a
		// statement.
		exact := map[string]any{
			"b:0": strings.Repeat("y", 1<<19-5), // 3 + 2 + (1<<19 - 5) bytes
			"b:1": strings.Repeat("y", 1<<19-5),
			"b:2": 1,
		}
		require.Equal(t, []int64{2, 1}, write(exact), "rows per statement")
		n, err := cache.Stats(db)
		require.NoError(t, err)
		require.EqualValues(t, 1207, n.Total)
	})
}

// TestDeleteManyAllOrNothingAcrossChunks: DeleteMany of 1000 keys (two
// full chunks of 500) runs in one transaction, so a refused delete in the
// second chunk leaves the first one's entries; GetMany of the same keys
// reads them all, and without the trigger DeleteMany deletes them all.
func TestDeleteManyAllOrNothingAcrossChunks(t *testing.T) {
	t.Parallel()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			values := make(map[string]any, 1000)
			keys := make([]string, 0, 1000)
			for i := range 1000 {
				k := fmt.Sprintf("k%04d", i)
				values[k] = i
				keys = append(keys, k)
			}
			require.NoError(t, cache.SetMany(b.DB, values))
			got, err := cache.GetMany[int](b.DB, keys)
			require.NoError(t, err)
			require.Len(t, got, 1000)

			refuseKeyTrigger(t, b, "DELETE", "k0999") // in the second chunk: keys go in order
			n, err := cache.DeleteMany(b.DB, keys)
			require.ErrorContains(t, err, "refused by trigger")
			require.Zero(t, n)
			require.EqualValues(t, 1000, countRows(t, b.DB), "the first chunk was deleted")

			dropRefuseTrigger(t, b)
			n, err = cache.DeleteMany(b.DB, keys)
			require.NoError(t, err)
			require.EqualValues(t, 1000, n)
			require.Zero(t, countRows(t, b.DB))
		})
	}
}

// TestTaggedSetManyAllOrNothing: a tagged SetMany of one chunk writes its
// entries and their side rows together: a refused side row (a trigger on
// the side table) leaves no entry behind, on every database.
func TestTaggedSetManyAllOrNothing(t *testing.T) {
	t.Parallel()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			switch {
			case b.Name == "mysql":
				require.NoError(t, b.DB.Exec("CREATE TRIGGER gormcache_refuse_tag BEFORE INSERT ON cached_items_tags FOR EACH ROW "+
					"BEGIN IF NEW.`tag` = 'refused' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by trigger'; END IF; END").Error)
			case b.DB.Dialector.Name() == "postgres":
				require.NoError(t, b.DB.Exec(`CREATE FUNCTION gormcache_refuse_tag() RETURNS trigger LANGUAGE plpgsql AS `+
					`$$ BEGIN RAISE EXCEPTION 'refused by trigger'; END $$`).Error)
				require.NoError(t, b.DB.Exec(`CREATE TRIGGER gormcache_refuse_tag BEFORE INSERT ON cached_items_tags `+
					`FOR EACH ROW WHEN (NEW.tag = 'refused') EXECUTE FUNCTION gormcache_refuse_tag()`).Error)
			default:
				require.NoError(t, b.DB.Exec(`CREATE TRIGGER gormcache_refuse_tag BEFORE INSERT ON cached_items_tags `+
					`WHEN NEW.tag = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END`).Error)
			}
			values := map[string]any{"a": 1, "b": 2, "c": 3}
			err := cache.SetMany(cache.WithTags(b.DB, "ok", "refused"), values)
			require.ErrorContains(t, err, "refused by trigger")
			require.Zero(t, countRows(t, b.DB), "entries written without their tags")
			require.NoError(t, cache.SetMany(cache.WithTags(b.DB, "ok"), values))
			require.EqualValues(t, 3, countRows(t, b.DB))
		})
	}
}
