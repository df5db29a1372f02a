package cache_test

import (
	"encoding/json"
	"fmt"
	"os"
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

// TestKeysByteForByte: keys differing only in case, trailing spaces or
// Unicode normalization are distinct entries on every database (MySQL's
// default collations would make them one), and 255 four-byte characters fit
// the key index.
func TestKeysByteForByte(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		keys := []string{"User:A", "user:a", "user:a ", "caf\u00e9", "cafe\u0301", "ß", "ss",
			strings.Repeat("😀", cache.MaxKeyLength)}
		for i, k := range keys {
			require.NoError(t, cache.Cached(db, k).Set(i), "%q", k)
		}
		for i, k := range keys {
			v, ok, err := cache.Get[int](db, k)
			require.NoError(t, err)
			require.True(t, ok, "%q", k)
			require.Equal(t, i, v, "%q", k)
		}
		many, err := cache.GetMany[int](db, keys)
		require.NoError(t, err)
		require.Len(t, many, len(keys))
		st, err := cache.Stats(db)
		require.NoError(t, err)
		require.EqualValues(t, len(keys), st.Total)
		n, err := cache.DeleteMany(db, []string{"user:a", "USER:A"})
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	})
}

// TestNestingDepth: 31 levels of arrays and objects are stored on every
// database, 32 are refused on every one (MariaDB's JSON column cannot hold
// them).
func TestNestingDepth(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		ok31 := strings.Repeat(`[{"a":`, 15) + `["x]]]"]` + strings.Repeat(`}]`, 15)
		require.NoError(t, cache.Cached(db, "d31").Set(rawJSON(ok31)))
		bad32 := strings.Repeat("[", 32) + strings.Repeat("]", 32)
		require.ErrorIs(t, cache.Cached(db, "d32").Set(rawJSON(bad32)), cache.ErrInvalidValue)
		ok, err := cache.Cached(db, "d32").Exists()
		require.NoError(t, err)
		require.False(t, ok)
	})
}

// TestNestingDepthScan: values with more than 31 brackets are measured,
// not refused by count: brackets inside strings (after escaped quotes and
// backslashes) do not nest, closing brackets unnest, and the two bracket
// kinds nest together.
func TestNestingDepthScan(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		deep := func(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }
		for name, v := range map[string]string{
			"siblings": "[" + strings.Repeat("[],", 40) + "[]]",
			"strings":  strings.Repeat("[", 30) + `["[[[[[\"[[[[[\\", "]]]\\\\\"[[["]` + strings.Repeat("]", 30),
			"two deep": "[" + deep(29) + "," + deep(29) + "," + deep(30) + "]",
		} {
			require.NoError(t, cache.Cached(db, name).Set(rawJSON(v)), "%s: %s", name, v)
			var got json.RawMessage
			ok, err := cache.Cached(db, name).Get(&got)
			require.NoError(t, err)
			require.True(t, ok, name)
		}
		for name, v := range map[string]string{
			"mixed 32":        strings.Repeat(`[{"a":`, 16) + "1" + strings.Repeat(`}]`, 16),
			"after a string":  `["]]]]",` + deep(31) + "]",
			"32 after others": "[" + deep(20) + "," + deep(31) + "]",
		} {
			require.ErrorIs(t, cache.Cached(db, name).Set(rawJSON(v)), cache.ErrInvalidValue, "%s: %s", name, v)
		}
	})
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// TestWriteAnswersUnderLoad: every "did it write" answer of Add and Touch,
// and every Increment result, stays exact when many goroutines hit one key
// (on MySQL: with and without clientFoundRows, through the two runs of
// each).
func TestWriteAnswersUnderLoad(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		const workers, rounds = 8, 25
		var wg sync.WaitGroup
		adds := make(chan bool, workers*rounds)
		sums := make(chan int64, workers*rounds)
		errs := make(chan error, 2*workers*rounds)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range rounds {
					ok, err := cache.Cached(db, "add").Add(w*rounds + r)
					errs <- err
					adds <- ok
					n, err := cache.Cached(db, "n").Increment(-2)
					errs <- err
					sums <- n
				}
			}()
		}
		wg.Wait()
		close(adds)
		close(sums)
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		won := 0
		for ok := range adds {
			if ok {
				won++
			}
		}
		require.Equal(t, 1, won, "exactly one Add wins")
		seen := map[int64]bool{}
		for n := range sums {
			require.False(t, seen[n], "Increment returned %d twice", n)
			seen[n] = true
		}
		for i := int64(1); i <= workers*rounds; i++ {
			require.True(t, seen[-2*i], "missing %d", -2*i)
		}
		touched, err := cache.Cached(db, "n").Touch()
		require.NoError(t, err)
		require.True(t, touched)
		touched, err = cache.Cached(db, "n").Touch() // same values again
		require.NoError(t, err)
		require.True(t, touched)
		touched, err = cache.Cached(db, "missing").Touch()
		require.NoError(t, err)
		require.False(t, touched)
		n, err := cache.Cached(db, "n").Increment(0)
		require.NoError(t, err)
		require.EqualValues(t, -2*workers*rounds, n)
	})
}

// TestMigrateTwiceChangesNothing: a second AutoMigrate creates, drops and
// changes no column or index (no ALTER TABLE rewriting the table on every
// start). PostgreSQL's table settings are set again, which rewrites nothing.
func TestMigrateTwiceChangesNothing(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			rec := &sqlLog{Interface: logger.Discard}
			db := b.DB.Session(&gorm.Session{Logger: rec})
			require.NoError(t, cache.AutoMigrate(db))
			require.NotEmpty(t, rec.sql, "the recorder saw the migration's queries")
			for _, q := range rec.sql {
				if b.Name == "mysql" && (q == "ALTER TABLE `cached_items` MODIFY COLUMN `value` json NOT NULL" ||
					q == "ALTER TABLE `cached_items` MODIFY COLUMN `tags` json") {
					// MariaDB reports its JSON alias as longtext, so GORM
					// restates the JSON columns; MariaDB changes nothing.
					continue
				}
				require.NotRegexp(t, `(?i)^\s*(CREATE|DROP)\b|\b(ADD|ALTER|MODIFY|DROP)\s+COLUMN\b`, q)
			}
		})
	}
}

// TestSetManyLargeValues: 24 values of 1 MiB, more than MariaDB's default
// max_allowed_packet (16 MiB) together, are stored by one SetMany (in
// statements of at most 1 MiB of values each, which matters when
// interpolateParams=true puts them in the statement's text) and read back by
// one GetMany.
func TestSetManyLargeValues(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		{
			values := map[string]any{}
			keys := []string{}
			for i := range 24 {
				k := fmt.Sprintf("big:%02d", i)
				values[k] = strings.Repeat(string(rune('a'+i)), 1<<20)
				keys = append(keys, k)
			}
			require.NoError(t, cache.SetMany(db, values))
			got, err := cache.GetMany[string](db, keys)
			require.NoError(t, err)
			require.Len(t, got, len(keys))
			for k, v := range values {
				require.True(t, got[k] == v, k)
			}
			n, err := cache.DeleteMany(db, keys)
			require.NoError(t, err)
			require.EqualValues(t, len(keys), n)
		}
	})
}

// TestMySQLLatin1Database: AutoMigrate in a database whose default character
// set is latin1 makes a table that stores any key and value: the key
// column gets utf8mb4 from the key migration, and JSON columns are utf8mb4
// on both MySQL 8 and MariaDB.
func TestMySQLLatin1Database(t *testing.T) {
	b := cachetest.MySQL(t)
	dsn := cachetest.NewDatabase(t, os.Getenv(cachetest.MySQLEnv))
	db, err := gorm.Open(cachetest.Dialector(b.Name, dsn), cachetest.Config())
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	require.NoError(t, db.Exec("ALTER DATABASE CHARACTER SET latin1 COLLATE latin1_swedish_ci").Error)
	require.NoError(t, cache.AutoMigrate(db))
	key, value := "ключ 🔑", "значение 😀"
	require.NoError(t, cache.Cached(db, key).Set(value))
	got, ok, err := cache.Get[string](db, key)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, value, got)
}

// TestMySQLDeadlockedSetManyRunsAgain: a SetMany that InnoDB rolls back
// as a deadlock victim runs again and succeeds: its transaction, whole,
// when it has two chunks (600 keys); its one statement when it has one
// (400 keys). Another transaction, which has written more rows (so InnoDB
// keeps it and rolls back SetMany's work), holds SetMany's last key, waits
// until SetMany waits for it, then asks for SetMany's first key.
func TestMySQLDeadlockedSetManyRunsAgain(t *testing.T) {
	for _, n := range []int{600, 400} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { deadlockSetMany(t, n) })
	}
}

func deadlockSetMany(t *testing.T, n int) {
	db := cachetest.MySQL(t).DB
	first, last := "k0000", fmt.Sprintf("k%04d", n-1)
	old, values := make(map[string]any, n), make(map[string]any, n)
	for i := range n {
		old[fmt.Sprintf("k%04d", i)] = "old"
		values[fmt.Sprintf("k%04d", i)] = i
	}
	// Every key exists: SetMany inserts no row into a gap tx has locked.
	require.NoError(t, cache.SetMany(db, old))

	tx := db.Begin()
	require.NoError(t, tx.Error)
	defer tx.Rollback()
	// Heavier than SetMany's work: InnoDB rolls back the lighter one. New
	// rows only, so tx locks nothing SetMany reads.
	filler := make(map[string]any, 3000)
	for i := range 3000 {
		filler[fmt.Sprintf("zfiller:%04d", i)] = i
	}
	require.NoError(t, cache.SetMany(tx, filler))
	require.NoError(t, cache.Cached(tx, last).Set("tx"))

	done := make(chan error, 1)
	go func() { done <- cache.SetMany(db, values) }()
	// Wait until SetMany waits for the last key's lock, holding the
	// first's: one of its INSERTs has run for a second. A user sees its own
	// threads; the test's database is its own, and only the statement with
	// the last key can wait (a prepared statement shows its text with ?,
	// not its values).
	require.Eventually(t, func() bool {
		var waiting int64
		require.NoError(t, db.Raw("SELECT COUNT(*) FROM information_schema.PROCESSLIST "+
			"WHERE `DB` = DATABASE() AND `INFO` LIKE 'INSERT INTO%' AND `TIME` >= 1").Scan(&waiting).Error)
		return waiting == 1
	}, 20*time.Second, 10*time.Millisecond)
	// The deadlock: SetMany's work is rolled back, tx gets the first key.
	require.NoError(t, cache.Cached(tx, first).Set("tx"))
	require.NoError(t, tx.Commit().Error)

	require.NoError(t, <-done, "SetMany was not run again after the deadlock")
	got, err := cache.GetMany[int](db, []string{first, "k0300", last})
	require.NoError(t, err)
	require.Equal(t, map[string]int{first: 0, "k0300": 300, last: n - 1}, got)
}

// TestMySQLTriggerHidesInsertID pins the server behaviour that keeps tagged
// writes on MySQL in a transaction rather than in triggers (README,
// "Invalidation"): once a table has a trigger that writes, the insert id an
// upsert reports is no longer the LAST_INSERT_ID(expr) it set, on which
// Increment and Add rely. If a server version stops doing this, this test
// fails and triggers become an option there.
func TestMySQLTriggerHidesInsertID(t *testing.T) {
	db := cachetest.MySQL(t).DB
	for _, q := range []string{
		"CREATE TABLE `t` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `k` VARCHAR(10) NOT NULL UNIQUE, `n` BIGINT NOT NULL)",
		"CREATE TABLE `side` (`k` VARCHAR(10) NOT NULL, `n` BIGINT NOT NULL)",
		"INSERT INTO `t` (`k`, `n`) VALUES ('a', 41), ('b', 41)",
	} {
		require.NoError(t, db.Exec(q).Error)
	}
	upsert := func(k string) int64 {
		sqlDB, err := db.DB()
		require.NoError(t, err)
		res, err := sqlDB.Exec("INSERT INTO `t` (`k`, `n`) VALUES (?, 1) "+
			"ON DUPLICATE KEY UPDATE `n` = LAST_INSERT_ID(`n` + 1)", k)
		require.NoError(t, err)
		id, err := res.LastInsertId()
		require.NoError(t, err)
		return id
	}
	require.Equal(t, int64(42), upsert("a"), "without a trigger the upsert reports LAST_INSERT_ID(expr)")
	require.NoError(t, db.Exec("CREATE TRIGGER `t_side` AFTER UPDATE ON `t` FOR EACH ROW "+
		"INSERT INTO `side` (`k`, `n`) VALUES (NEW.`k`, NEW.`n`)").Error)
	var b struct{ ID, N int64 }
	got := upsert("b")
	require.NoError(t, db.Raw("SELECT `id`, `n` FROM `t` WHERE `k` = 'b'").Scan(&b).Error)
	require.Equal(t, int64(42), b.N)
	require.Equal(t, b.ID, got, "with a trigger the upsert reports the row's id, not LAST_INSERT_ID(expr)")
}
