package cache_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// apiCall is one call of the public API, for tests that run them all.
type apiCall struct {
	name  string
	write bool
	call  func(db *gorm.DB) error
}

// allCalls calls every function of the API on key (and key+"-2" for the bulk
// ones). computed counts GetOrSet computations.
func allCalls(key string, computed *atomic.Int64) []apiCall {
	second := key + "-2"
	if key == "" {
		second = "" // stays invalid
	}
	return []apiCall{
		{"Set", true, func(db *gorm.DB) error { return cache.Cached(db, key).Set("new", cache.In(time.Hour)) }},
		{"Add", true, func(db *gorm.DB) error { _, err := cache.Cached(db, second).Add("new"); return err }},
		{"Get", false, func(db *gorm.DB) error { var v any; _, err := cache.Cached(db, key).Get(&v); return err }},
		{"Value", false, func(db *gorm.DB) error { _, err := cache.Cached(db, key).Value(); return err }},
		{"Exists", false, func(db *gorm.DB) error { _, err := cache.Cached(db, key).Exists(); return err }},
		{"Delete", true, func(db *gorm.DB) error { _, err := cache.Cached(db, key).Delete(); return err }},
		{"Touch", true, func(db *gorm.DB) error { _, err := cache.Cached(db, key).Touch(cache.In(-time.Hour)); return err }},
		{"Increment", true, func(db *gorm.DB) error { _, err := cache.Cached(db, second).Increment(1); return err }},
		{"Decrement", true, func(db *gorm.DB) error { _, err := cache.Cached(db, second).Decrement(1); return err }},
		{"GetT", false, func(db *gorm.DB) error { _, _, err := cache.Get[string](db, key); return err }},
		{"GetOrSet", true, func(db *gorm.DB) error {
			_, err := cache.GetOrSet(db, second, func() (string, error) { computed.Add(1); return "new", nil })
			return err
		}},
		{"GetMany", false, func(db *gorm.DB) error { _, err := cache.GetMany[any](db, []string{key, second}); return err }},
		{"SetMany", true, func(db *gorm.DB) error { return cache.SetMany(db, map[string]any{key: "new", second: "new"}) }},
		{"DeleteMany", true, func(db *gorm.DB) error { _, err := cache.DeleteMany(db, []string{key, second}); return err }},
		{"Clear", true, func(db *gorm.DB) error { _, err := cache.Clear(db); return err }},
		{"ClearExpired", true, func(db *gorm.DB) error { _, err := cache.ClearExpired(db); return err }},
		{"Stats", false, func(db *gorm.DB) error { _, err := cache.Stats(db); return err }},
	}
}

// requireBefore checks that key still holds "before", with no other entry
// besides it (and the ones named in others).
func requireBefore(t *testing.T, db *gorm.DB, key string, total int64) {
	t.Helper()
	var got string
	ok, err := cache.Cached(db, key).Get(&got)
	require.NoError(t, err)
	require.True(t, ok, "the previous value is gone")
	require.Equal(t, "before", got)
	st, err := cache.Stats(db)
	require.NoError(t, err)
	require.Equal(t, total, st.Total, "%+v", st)
}

// TestFaultPostgresRestart stops a PostgreSQL server of the test's own while
// four goroutines call the cache, and starts it again. While it is down,
// calls fail with wrapped errors (no panic, no hang); after the restart the
// same *gorm.DB works again, the value stored before is intact, and no
// goroutine is left behind.
func TestFaultPostgresRestart(t *testing.T) {
	cluster := cachetest.NewCluster(t)
	restartUnderLoad(t, postgres.Open(cluster.DSN), cluster.Stop, cluster.Start)
}

// TestFaultMySQLRestart does the same with a MariaDB server of the test's
// own.
func TestFaultMySQLRestart(t *testing.T) {
	server := cachetest.NewMariaDB(t)
	restartUnderLoad(t, cachetest.Dialector("mysql", server.DSN), server.Stop, server.Start)
}

func restartUnderLoad(t *testing.T, dial gorm.Dialector, stopServer, startServer func()) {
	db, err := gorm.Open(dial, cachetest.Config())
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	require.NoError(t, cache.AutoMigrate(db))
	require.NoError(t, cache.Cached(db, "k").Set("before"))
	leaks := cachetest.LeakCheck(t)

	var ok, failed atomic.Int64
	var fails errorLog
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				cdb := db.WithContext(ctx)
				key := fmt.Sprintf("w%d", w)
				var err error
				switch i % 4 {
				case 0:
					err = cache.Cached(cdb, key).Set(i, cache.In(time.Hour))
				case 1:
					var v int
					_, err = cache.Cached(cdb, key).Get(&v)
				case 2:
					_, err = cache.Cached(cdb, key+"-n").Increment(1)
				default:
					_, err = cache.Cached(cdb, "k").Exists()
				}
				cancel()
				if err == nil {
					ok.Add(1)
					continue
				}
				failed.Add(1)
				if !strings.HasPrefix(err.Error(), "cache: ") {
					fails.add("unwrapped error: %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("timed out waiting for %s (ok=%d failed=%d)", what, ok.Load(), failed.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("calls to succeed", func() bool { return ok.Load() > 40 })

	stopServer()
	stoppedAt := failed.Load()
	waitFor("calls to fail", func() bool { return failed.Load() > stoppedAt+20 })
	err = cache.Cached(db, "k").Set("during")
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), `cache: set "k": `), err.Error())
	t.Logf("while down: %v", err)

	startServer()
	// After a few failures on connections that died with the server, calls
	// succeed again on the same *gorm.DB.
	waitFor("a call to succeed after the restart", func() bool {
		_, err := cache.Cached(db, "k").Exists()
		return err == nil
	})
	okAt := ok.Load()
	waitFor("calls to succeed after the restart", func() bool { return ok.Load() > okAt+40 })
	close(stop)
	wg.Wait()
	fails.check(t)
	for range 20 {
		var got string
		hit, err := cache.Cached(db, "k").Get(&got)
		require.NoError(t, err)
		require.True(t, hit)
		require.Equal(t, "before", got)
	}
	t.Logf("%d calls succeeded, %d failed", ok.Load(), failed.Load())
	// go-sql-driver runs a goroutine per open connection, and the workers
	// left more idle ones than there were before.
	sqlDB.SetMaxIdleConns(1)
	leaks()
}

// TestFaultSQLiteReadOnly opens a SQLite file that was made read-only: reads
// return the stored value, every write fails with a wrapped "readonly"
// error, and the value stays as it was.
func TestFaultSQLiteReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.db")
	db, err := gorm.Open(sqlite.Open(cachetest.SQLiteDSN(path)), cachetest.Config())
	require.NoError(t, err)
	require.NoError(t, cache.AutoMigrate(db))
	require.NoError(t, cache.Cached(db, "k").Set("before"))
	sqlDB, err := db.DB()
	require.NoError(t, err)
	require.NoError(t, sqlDB.Close())

	// File permissions do not stop root, so also open it read-only.
	require.NoError(t, os.Chmod(path, 0o444))
	ro, err := gorm.Open(sqlite.Open(cachetest.SQLiteDSN(path)+"&mode=ro"), cachetest.Config())
	require.NoError(t, err)
	roDB, err := ro.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = roDB.Close() })
	leaks := cachetest.LeakCheck(t)

	var computed atomic.Int64
	for _, c := range allCalls("k", &computed) {
		err := c.call(ro)
		if !c.write {
			require.NoError(t, err, c.name)
			continue
		}
		require.Error(t, err, c.name)
		require.True(t, strings.HasPrefix(err.Error(), "cache: "), "%s: %v", c.name, err)
		require.Contains(t, strings.ToLower(err.Error()), "readonly", "%s: %v", c.name, err)
	}
	requireBefore(t, ro, "k", 1)
	leaks()
}

// TestFaultSQLiteDiskFull fills a SQLite database capped by max_page_count:
// the write that does not fit fails with a wrapped "full" error, the value
// it would have replaced is still there, and once space is freed writes
// succeed again.
func TestFaultSQLiteDiskFull(t *testing.T) {
	db, err := gorm.Open(sqlite.Open(cachetest.SQLiteDSN(filepath.Join(t.TempDir(), "full.db"))), cachetest.Config())
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	sqlDB.SetMaxOpenConns(1) // the pragma holds for one connection
	require.NoError(t, cache.AutoMigrate(db))
	require.NoError(t, cache.Cached(db, "k").Set("before"))
	var pages int64
	require.NoError(t, db.Raw("PRAGMA page_count").Scan(&pages).Error)
	require.NoError(t, db.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages+40)).Error)
	leaks := cachetest.LeakCheck(t)

	big := strings.Repeat("x", 32<<10)
	var full error
	stored := 0
	for i := range 100 {
		if err := cache.Cached(db, fmt.Sprintf("big:%d", i)).Set(big); err != nil {
			full = err
			break
		}
		stored++
	}
	require.Error(t, full, "the database never filled up")
	require.Positive(t, stored)
	require.True(t, strings.HasPrefix(full.Error(), "cache: set "), full.Error())
	require.Contains(t, full.Error(), "full")
	t.Logf("after %d values: %v", stored, full)

	// A failed overwrite keeps the old value; the failed writes left nothing.
	err = cache.Cached(db, "k").Set(big)
	require.ErrorContains(t, err, "full")
	_, err = cache.Cached(db, "n").Increment(1, cache.In(time.Hour))
	if err != nil {
		require.ErrorContains(t, err, "full")
	}
	err = cache.SetMany(db, map[string]any{"m1": big, "m2": big})
	require.ErrorContains(t, err, "full")
	total := int64(stored + 1)
	if ok, _ := cache.Cached(db, "n").Exists(); ok {
		total++
	}
	requireBefore(t, db, "k", total)

	// Freeing space makes writes work again.
	n, err := cache.DeleteMany(db, []string{"big:0", "big:1", "big:2"})
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	require.NoError(t, cache.Cached(db, "k").Set(big[:1000]))
	leaks()
}

// TestFaultClosedDB closes the pool under a *gorm.DB: every call fails with
// a wrapped "database is closed" error and no panic, GetOrSet does not
// compute, and the data is intact when the database is opened again.
func TestFaultClosedDB(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			require.NoError(t, cache.Cached(b.DB, "k").Set("before"))
			sqlDB, err := b.DB.DB()
			require.NoError(t, err)
			leaks := cachetest.LeakCheck(t)
			require.NoError(t, sqlDB.Close())

			var computed atomic.Int64
			for _, c := range allCalls("k", &computed) {
				err := c.call(b.DB)
				require.Error(t, err, c.name)
				require.True(t, strings.HasPrefix(err.Error(), "cache: "), "%s: %v", c.name, err)
				require.Contains(t, err.Error(), "database is closed", c.name)
			}
			require.Zero(t, computed.Load(), "GetOrSet computed without a database")
			leaks()

			dial := cachetest.Dialector(b.Name, b.DSN)
			db, err := gorm.Open(dial, cachetest.Config())
			require.NoError(t, err)
			reopened, err := db.DB()
			require.NoError(t, err)
			defer reopened.Close()
			requireBefore(t, db, "k", 1)
		})
	}
}

// TestFaultContext calls every function with a cancelled context and with
// a deadline that has passed: each returns an error that errors.Is matches
// to context.Canceled or context.DeadlineExceeded, and nothing is written.
func TestFaultContext(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			require.NoError(t, cache.Cached(b.DB, "k").Set("before"))
			leaks := cachetest.LeakCheck(t)
			cancelled, cancel := context.WithCancel(t.Context())
			cancel()
			expired, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
			defer cancel2()
			var computed atomic.Int64
			for _, ctx := range []context.Context{cancelled, expired} {
				for _, c := range allCalls("k", &computed) {
					err := c.call(b.DB.WithContext(ctx))
					require.ErrorIs(t, err, ctx.Err(), c.name)
					require.True(t, strings.HasPrefix(err.Error(), "cache: "), "%s: %v", c.name, err)
				}
			}
			require.Zero(t, computed.Load(), "GetOrSet computed under a done context")
			requireBefore(t, b.DB, "k", 1)
			leaks()
		})
	}
}

// slowTrigger makes every write of a key starting with "slow:" take far
// longer than any test: pg_sleep on PostgreSQL, SLEEP on MySQL, a huge
// join on SQLite.
func slowTrigger(t *testing.T, b cachetest.Backend) {
	t.Helper()
	if b.Name == "mysql" {
		// SLEEP returns early when the client's connection is closed, which
		// go-sql-driver does when a context is done.
		for _, when := range []string{"INSERT", "UPDATE"} {
			require.NoError(t, b.DB.Exec("CREATE TRIGGER gormcache_slow_"+when+" BEFORE "+when+" ON cached_items "+
				"FOR EACH ROW BEGIN IF NEW.`key` LIKE 'slow:%' THEN DO SLEEP(60); END IF; END").Error)
		}
		return
	}
	if b.Name != "sqlite" { // PostgreSQL, directly or through PgBouncer
		require.NoError(t, b.DB.Exec(`CREATE FUNCTION gormcache_slow() RETURNS trigger LANGUAGE plpgsql AS `+
			`$$ BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$`).Error)
		require.NoError(t, b.DB.Exec(`CREATE TRIGGER gormcache_slow BEFORE INSERT OR UPDATE ON cached_items `+
			`FOR EACH ROW WHEN (NEW.key LIKE 'slow:%') EXECUTE FUNCTION gormcache_slow()`).Error)
		return
	}
	pad := make(map[string]any, 300)
	for i := range 300 {
		pad[fmt.Sprintf("pad:%d", i)] = i
	}
	require.NoError(t, cache.SetMany(b.DB, pad))
	for _, when := range []string{"INSERT", "UPDATE"} {
		require.NoError(t, b.DB.Exec(`CREATE TRIGGER gormcache_slow_`+when+` BEFORE `+when+` ON cached_items `+
			`WHEN NEW.key LIKE 'slow:%' BEGIN SELECT count(*) FROM cached_items a, cached_items b, `+
			`cached_items c, cached_items d; END`).Error)
	}
}

// TestFaultSlowQuery interrupts a cache call whose query is slow (a trigger
// that sleeps) by its context's deadline: the call returns
// context.DeadlineExceeded soon after the deadline, nothing is written, and
// the pool keeps working.
func TestFaultSlowQuery(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			slowTrigger(t, b)
			require.NoError(t, cache.Cached(b.DB, "k").Set("before"))
			st, err := cache.Stats(b.DB)
			require.NoError(t, err)
			leaks := cachetest.LeakCheck(t)
			calls := map[string]func(db *gorm.DB) error{
				"Set":       func(db *gorm.DB) error { return cache.Cached(db, "slow:1").Set(1) },
				"Add":       func(db *gorm.DB) error { _, err := cache.Cached(db, "slow:2").Add(1); return err },
				"Increment": func(db *gorm.DB) error { _, err := cache.Cached(db, "slow:3").Increment(1); return err },
				"SetMany":   func(db *gorm.DB) error { return cache.SetMany(db, map[string]any{"k": "after", "slow:4": 1}) },
			}
			for name, call := range calls {
				ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
				begin := time.Now()
				err := call(b.DB.WithContext(ctx))
				took := time.Since(begin)
				cancel()
				require.ErrorIs(t, err, context.DeadlineExceeded, "%s: %v", name, err)
				require.Less(t, took, 5*time.Second, name)
				t.Logf("%s interrupted after %v", name, took.Round(time.Millisecond))
			}
			requireBefore(t, b.DB, "k", st.Total)
			leaks()
		})
	}
}

// TestFaultLockWait makes a write wait for another transaction's lock on its
// row, with a 300 ms deadline: it returns an error that errors.Is matches to
// context.DeadlineExceeded, the server cancels the statement, so it writes
// nothing even after the holder commits. On
// PostgreSQL the deadline cuts the wait short. SQLite cannot interrupt a
// wait for its write lock, so there the wait is bounded by _busy_timeout
// (1 s in this test), and the error still reports the deadline.
func TestFaultLockWait(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db, bound := b.DB, 5*time.Second
			if b.Name == "sqlite" {
				dsn := strings.Replace(b.DSN, "_busy_timeout=10000", "_busy_timeout=1000", 1)
				require.NotEqual(t, b.DSN, dsn)
				var err error
				db, err = gorm.Open(sqlite.Open(dsn), cachetest.Config())
				require.NoError(t, err)
				sqlDB, err := db.DB()
				require.NoError(t, err)
				t.Cleanup(func() { _ = sqlDB.Close() })
				bound = time.Second + 3*time.Second
			}
			require.NoError(t, cache.Cached(db, "k").Set("before"))
			leaks := cachetest.LeakCheck(t)
			tx := db.Begin()
			require.NoError(t, tx.Error)
			t.Cleanup(func() { tx.Rollback() }) // after a failure; a no-op after Commit
			require.NoError(t, cache.Cached(tx, "k").Set("holder"))
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			begin := time.Now()
			err := cache.Cached(db.WithContext(ctx), "k").Set("waiter")
			took := time.Since(begin)
			cancel()
			t.Logf("waiting write returned after %v: %v", took.Round(time.Millisecond), err)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Less(t, took, bound)
			if b.DB.Dialector.Name() == "postgres" { // directly or through PgBouncer
				// The call returns when pgx has sent PostgreSQL a cancel
				// request, which the server handles on its own time. Until
				// then the statement still waits for the lock and would
				// write after the commit: a timed-out write's outcome is only
				// known once the server has cancelled it.
				var holder int64
				require.NoError(t, tx.Raw(`SELECT pg_backend_pid()`).Scan(&holder).Error)
				require.Eventually(t, func() bool {
					var waiting int64
					err := db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))`,
						holder).Scan(&waiting).Error
					return err == nil && waiting == 0
				}, 5*time.Second, 10*time.Millisecond, "the server did not cancel the waiting statement")
			}
			require.NoError(t, tx.Commit().Error)
			var got string
			ok, err := cache.Cached(db, "k").Get(&got)
			require.NoError(t, err)
			require.True(t, ok)
			if b.Name == "mysql" {
				// go-sql-driver closes the connection of a cancelled call
				// and sends no KILL QUERY; the server runs the statement
				// on once the lock is free (RELIABILITY.md says so).
				require.Contains(t, []string{"holder", "waiter"}, got)
			} else {
				require.Equal(t, "holder", got)
			}
			leaks()
		})
	}
}

var errRollback = errors.New("roll back")

// TestFaultRollback makes every kind of write inside a transaction that
// rolls back (including a refused Increment, after which the transaction
// stays usable, and a SetMany large enough to use a savepoint): afterwards
// the cache is exactly as before. The same writes in a committed
// transaction all stay.
func TestFaultRollback(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.DB
			require.NoError(t, cache.Cached(db, "keep").Set("v0"))
			require.NoError(t, cache.Cached(db, "gone").Set("x"))
			require.NoError(t, cache.Cached(db, "text").Set("abc"))
			_, err := cache.Cached(db, "n").Increment(5)
			require.NoError(t, err)
			many := make(map[string]any, 1200)
			for i := range 1200 {
				many[fmt.Sprintf("many:%d", i)] = i
			}
			writes := func(tx *gorm.DB) error {
				require.NoError(t, cache.Cached(tx, "keep").Set("v1"))
				added, err := cache.Cached(tx, "new").Add(1)
				require.NoError(t, err)
				require.True(t, added)
				n, err := cache.Cached(tx, "n").Increment(10)
				require.NoError(t, err)
				require.EqualValues(t, 15, n)
				_, err = cache.Cached(tx, "text").Increment(1)
				require.ErrorIs(t, err, cache.ErrNotNumber)
				deleted, err := cache.Cached(tx, "gone").Delete()
				require.NoError(t, err)
				require.True(t, deleted)
				touched, err := cache.Cached(tx, "text").Touch(cache.In(-time.Hour))
				require.NoError(t, err)
				require.True(t, touched)
				require.NoError(t, cache.SetMany(tx, many))
				v, err := cache.GetOrSet(tx, "computed", func() (string, error) { return "c", nil })
				require.NoError(t, err)
				require.Equal(t, "c", v)
				got, err := cache.GetMany[int](tx, []string{"many:0", "many:1199"})
				require.NoError(t, err)
				require.Len(t, got, 2)
				return errRollback
			}
			require.ErrorIs(t, db.Transaction(writes), errRollback)
			st, err := cache.Stats(db)
			require.NoError(t, err)
			require.Equal(t, cache.Statistics{Total: 4, Live: 4, Forever: 4}, st)
			for k, want := range map[string]any{"keep": "v0", "gone": "x", "text": "abc", "n": 5.0} {
				v, err := cache.Cached(db, k).Value()
				require.NoError(t, err)
				require.Equal(t, want, v, k)
			}

			// The control: committed, the same writes stay.
			require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
				require.ErrorIs(t, writes(tx), errRollback)
				return nil
			}))
			st, err = cache.Stats(db)
			require.NoError(t, err)
			require.EqualValues(t, 4+1200+1, st.Total) // -gone +new +computed
			require.EqualValues(t, 1, st.Expired)
		})
	}
}
