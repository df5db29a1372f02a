package cache_test

import (
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// sidePairs returns the (key, tag) rows of the side table of tags, as
// "key tag", sorted.
func sidePairs(t *testing.T, db *gorm.DB, table string) []string {
	t.Helper()
	var rows []string
	require.NoError(t, db.Raw("SELECT CONCAT(`key`, ' ', `tag`) FROM `"+table+"` ORDER BY `key`, `tag`").Scan(&rows).Error)
	return rows
}

// procCount returns how many procedures of tagged Sets the database holds.
func procCount(t *testing.T, db *gorm.DB, name string) int {
	t.Helper()
	var n int
	require.NoError(t, db.Raw("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() "+
		"AND ROUTINE_NAME = ?", name).Scan(&n).Error)
	return n
}

// TestMySQLTaggedSetOneRoundTrip: on MySQL a tagged Set outside a
// transaction is one statement, the CALL of the procedure AutoMigrate
// created, which writes the entry and its side rows; retagging replaces the
// side rows. Inside a transaction the statements run one by one.
func TestMySQLTaggedSetOneRoundTrip(t *testing.T) {
	b := cachetest.MySQL(t)
	require.Equal(t, 1, procCount(t, b.DB, "cached_items_set_tagged2"), "AutoMigrate creates the procedure")
	rec := &sqlLog{Interface: logger.Discard}
	db := b.DB.Session(&gorm.Session{Logger: rec})
	require.NoError(t, cache.Cached(cache.WithTags(db, "b", "a"), "k").Set(1))
	require.Len(t, rec.sql, 1, "%q", rec.sql)
	require.True(t, strings.HasPrefix(rec.sql[0], "CALL "), rec.sql[0])
	require.Equal(t, []string{"k a", "k b"}, sidePairs(t, b.DB, "cached_items_tags"))

	require.NoError(t, cache.Cached(cache.WithTags(db, "c", "a"), "k").Set(2))
	require.Equal(t, []string{"k a", "k c"}, sidePairs(t, b.DB, "cached_items_tags"))
	tags, err := cache.Cached(b.DB, "k").Tags()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "c"}, tags)
	n, err := cache.InvalidateTags(b.DB, "c")
	require.NoError(t, err)
	require.Equal(t, int64(1), n)

	rec.sql = nil
	require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
		return cache.Cached(cache.WithTags(tx, "d"), "k2").Set(3)
	}))
	for _, q := range rec.sql {
		require.False(t, strings.HasPrefix(q, "CALL "), "a transaction's tagged Set runs no CALL: %q", rec.sql)
	}
	require.Equal(t, []string{"k2 d"}, sidePairs(t, b.DB, "cached_items_tags"))
}

// TestMySQLTaggedSetWithoutProcedure: when the procedure is gone (a table
// migrated by a version without it, a user without CREATE ROUTINE), tagged
// Sets run their statements one by one with the same result, and
// AutoMigrate creates the procedure again.
func TestMySQLTaggedSetWithoutProcedure(t *testing.T) {
	b := cachetest.MySQL(t)
	db := b.DB.Table("noproc_cache")
	require.NoError(t, cache.AutoMigrate(db))
	require.Equal(t, 1, procCount(t, b.DB, "noproc_cache_set_tagged2"))
	require.NoError(t, b.DB.Exec("DROP PROCEDURE `noproc_cache_set_tagged2`").Error)

	require.NoError(t, cache.Cached(cache.WithTags(db, "x", "y"), "k").Set(1))
	require.NoError(t, cache.Cached(cache.WithTags(db, "y", "z"), "k").Set(2))
	require.Equal(t, []string{"k y", "k z"}, sidePairs(t, b.DB, "noproc_cache_tags"))
	n, err := cache.InvalidateTags(db, "z")
	require.NoError(t, err)
	require.Equal(t, int64(1), n)

	require.NoError(t, cache.AutoMigrate(db))
	require.Equal(t, 1, procCount(t, b.DB, "noproc_cache_set_tagged2"), "AutoMigrate creates it again")
}

// TestMySQLTaggedSetRollsBack: a tagged Set whose side rows are refused
// leaves the entry and its side rows as they were, and the connection out
// of any transaction (the procedure rolls back before it reports the
// error): the next write on the same connection is committed.
func TestMySQLTaggedSetRollsBack(t *testing.T) {
	b := cachetest.MySQL(t)
	one := cachetest.Reopen(t, b)
	sqlDB, err := one.DB()
	require.NoError(t, err)
	sqlDB.SetMaxOpenConns(1) // the failed CALL and the next Set share a connection
	require.NoError(t, cache.Cached(cache.WithTags(one, "a"), "k").Set("old"))
	require.NoError(t, b.DB.Exec("CREATE TRIGGER `refuse_tag` BEFORE INSERT ON `cached_items_tags` FOR EACH ROW "+
		"BEGIN IF NEW.`tag` = 'bad' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by trigger'; END IF; END").Error)

	err = cache.Cached(cache.WithTags(one, "bad"), "k").Set("new")
	require.ErrorContains(t, err, "refused by trigger")
	v, ok, err := cache.Get[string](b.DB, "k")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "old", v)
	tags, err := cache.Cached(b.DB, "k").Tags()
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, tags)
	require.Equal(t, []string{"k a"}, sidePairs(t, b.DB, "cached_items_tags"))

	require.NoError(t, cache.Cached(one, "after").Set(1))
	_, ok, err = cache.Get[int](b.DB, "after")
	require.NoError(t, err)
	require.True(t, ok, "the write after the failure is committed: no transaction was left open")
}

// TestMySQLTaggedSetOtherTables: the tables of db.Table, a name of 63
// characters (the procedure's name is cut and made unique) and one in
// another database, get their own procedure, which writes their own side
// table.
func TestMySQLTaggedSetOtherTables(t *testing.T) {
	b := cachetest.MySQL(t)
	other := cachetest.NewDatabase(t, b.DSN)
	cfg, err := gomysql.ParseDSN(other)
	require.NoError(t, err)
	for _, table := range []string{strings.Repeat("t", 63), cfg.DBName + ".elsewhere"} {
		db := b.DB.Table(table)
		require.NoError(t, cache.AutoMigrate(db))
		rec := &sqlLog{Interface: logger.Discard}
		require.NoError(t, cache.Cached(cache.WithTags(db.Session(&gorm.Session{Logger: rec}), "x"), "k").Set(1))
		require.Len(t, rec.sql, 1, "%q", rec.sql)
		require.True(t, strings.HasPrefix(rec.sql[0], "CALL "), rec.sql[0])
		n, err := cache.InvalidateTags(db, "x")
		require.NoError(t, err)
		require.Equal(t, int64(1), n, table)
	}
}

// TestMySQLTaggedSetSameTags: a tagged Set that writes an entry again with
// the tags it carries leaves its side rows alone, and the note it keeps in
// the session does not leak into the next call on the connection: a new
// entry written after it still gets its side rows.
func TestMySQLTaggedSetSameTags(t *testing.T) {
	b := cachetest.MySQL(t)
	one := cachetest.Reopen(t, b)
	sqlDB, err := one.DB()
	require.NoError(t, err)
	sqlDB.SetMaxOpenConns(1) // every call on one connection, one session
	tagged := cache.WithTags(one, "a", "b")
	require.NoError(t, cache.Cached(tagged, "k").Set(1))
	require.NoError(t, cache.Cached(tagged, "k").Set(2))
	require.Equal(t, []string{"k a", "k b"}, sidePairs(t, b.DB, "cached_items_tags"))
	require.NoError(t, cache.Cached(tagged, "new").Set(3))
	require.Equal(t, []string{"k a", "k b", "new a", "new b"}, sidePairs(t, b.DB, "cached_items_tags"))
	n, err := cache.InvalidateTags(b.DB, "b")
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
}

// TestMySQLNoRoutinePrivilege: for a user that may not create routines (the
// gormcache_noroutine user of scripts/mysql-test-db.sh), AutoMigrate
// succeeds without the procedure and tagged Sets run their statements one
// by one with the same result.
func TestMySQLNoRoutinePrivilege(t *testing.T) {
	b := cachetest.MySQL(t)
	cfg, err := gomysql.ParseDSN(b.DSN)
	require.NoError(t, err)
	cfg.User, cfg.Passwd = "gormcache_noroutine", "gormcache"
	db, err := gorm.Open(cachetest.Dialector("mysql", cfg.FormatDSN()), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	require.NoError(t, sqlDB.Ping(), "the user gormcache_noroutine: run scripts/mysql-test-db.sh")
	err = db.Exec("CREATE PROCEDURE `gormcache_probe`() SELECT 1").Error
	require.ErrorContains(t, err, "Error 1044", "the user may create routines")

	table := db.Table("plain_cache")
	require.NoError(t, cache.AutoMigrate(table))
	require.Zero(t, procCount(t, b.DB, "plain_cache_set_tagged2"))
	require.NoError(t, cache.Cached(cache.WithTags(table, "x", "y"), "k").Set(1))
	require.NoError(t, cache.Cached(cache.WithTags(table, "y", "z"), "k").Set(2))
	require.Equal(t, []string{"k y", "k z"}, sidePairs(t, b.DB, "plain_cache_tags"))
	var v int
	ok, err := cache.Cached(table, "k").Get(&v)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 2, v)
	n, err := cache.InvalidateTags(table, "z")
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	require.NoError(t, cache.AutoMigrate(table), "a second AutoMigrate")
}
