package cache_test

// Tests that the cache honours what a GORM app configures: naming
// strategies, the driver's statement handling (the simple protocol, dropped
// prepared statements), dbresolver, callbacks registered by hand, DryRun,
// db.Table and times written through the model.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/opentelemetry-go-extra/otelgorm"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
	"gorm.io/plugin/dbresolver"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// open opens b's database again with cfg (cachetest.Config's logger when
// cfg has none), closed when t ends.
func open(t *testing.T, b cachetest.Backend, cfg *gorm.Config, pg ...postgres.Config) *gorm.DB {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = cachetest.Config().Logger
	}
	var d gorm.Dialector
	switch b.Name {
	case "sqlite":
		d = sqlite.Open(b.DSN)
	case "mysql":
		d = cachetest.Dialector(b.Name, b.DSN)
	default: // PostgreSQL, or a server that speaks its protocol
		c := postgres.Config{DSN: b.DSN}
		if len(pg) > 0 {
			c = pg[0]
			c.DSN = b.DSN
		}
		d = postgres.New(c)
	}
	db, err := gorm.Open(d, cfg)
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// eachWith runs fn on every backend with a database opened with cfg, plain
// and with otelgorm (statements through GORM's callbacks).
func eachWith(t *testing.T, cfg func() *gorm.Config, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, open(t, b, cfg())) })
		t.Run(b.Name+"+otelgorm", func(t *testing.T) {
			db := open(t, b, cfg())
			require.NoError(t, db.Use(otelgorm.NewPlugin(otelgorm.WithoutMetrics())))
			_, err := cache.Clear(db)
			require.NoError(t, err)
			fn(t, db)
		})
	}
}

// exercise runs every operation on db's cache table, which must be empty,
// and checks what each returns, what the model and the scopes see of the
// same table, and that the table is empty again at the end.
func exercise(t *testing.T, db *gorm.DB) {
	t.Helper()
	exerciseCache(t, db, true)
}

// exerciseCache is exercise, with the model's and the scopes' view of the
// table checked only when model is true.
func exerciseCache(t *testing.T, db *gorm.DB, model bool) {
	t.Helper()
	c := cache.Cached(db, "k")
	require.NoError(t, c.Set("v", cache.In(time.Hour)))
	v, ok, err := cache.Get[string](db, "k")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "v", v)
	ok, err = c.Exists()
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = c.Add("w")
	require.NoError(t, err)
	require.False(t, ok, "Add over a live entry")
	n, err := cache.Cached(db, "n").Increment(2)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	n, err = cache.Cached(db, "n").Decrement(1)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	_, err = c.Increment(1)
	require.ErrorIs(t, err, cache.ErrNotNumber)
	ok, err = c.Touch(cache.In(2 * time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	g, err := cache.GetOrSet(db, "g", func() (string, error) { return "computed", nil })
	require.NoError(t, err)
	require.Equal(t, "computed", g)
	require.NoError(t, cache.SetMany(db, map[string]any{"m1": 1, "m2": 2}))
	m, err := cache.GetMany[int](db, []string{"m1", "m2", "missing"})
	require.NoError(t, err)
	require.Equal(t, map[string]int{"m1": 1, "m2": 2}, m)
	require.NoError(t, cache.Cached(db, "old").Set(1, cache.At(time.Now().Add(-time.Minute))))
	ok, err = cache.Cached(db, "old").Exists()
	require.NoError(t, err)
	require.False(t, ok, "an expired entry reads as absent")

	if model {
		checkModelView(t, db)
	}
	st, err := cache.Stats(db)
	require.NoError(t, err)
	require.Equal(t, cache.Statistics{Total: 6, Live: 5, Expired: 1, Unexpired: 1, Forever: 4}, st)

	cleared, err := cache.ClearExpired(db)
	require.NoError(t, err)
	require.EqualValues(t, 1, cleared)
	deleted, err := cache.DeleteMany(db, []string{"m1", "m2"})
	require.NoError(t, err)
	require.EqualValues(t, 2, deleted)
	ok, err = c.Delete()
	require.NoError(t, err)
	require.True(t, ok)
	cleared, err = cache.Clear(db)
	require.NoError(t, err)
	require.EqualValues(t, 2, cleared)
}

// checkModelView checks that the model and the scopes see exercise's
// entries: the same table and columns as the cache.
func checkModelView(t *testing.T, db *gorm.DB) {
	t.Helper()
	var items []cache.CachedItem
	require.NoError(t, db.Order(clause.OrderByColumn{Column: clause.Column{Name: "key"}}).Find(&items).Error)
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	require.Equal(t, []string{"g", "k", "m1", "m2", "n", "old"}, keys)
	for scope, want := range map[string]int64{"expired": 1, "unexpired": 1, "forever": 4, "live": 5} {
		f := map[string]func(*gorm.DB) *gorm.DB{"expired": cache.Expired, "unexpired": cache.Unexpired,
			"forever": cache.Forever, "live": cache.Live}[scope]
		var got int64
		require.NoError(t, db.Model(&cache.CachedItem{}).Scopes(f).Count(&got).Error, scope)
		require.Equal(t, want, got, scope)
	}
}

// upperNamer is a custom schema.Namer that names columns in upper case.
type upperNamer struct{ schema.NamingStrategy }

func (upperNamer) ColumnName(_, name string) string { return strings.ToUpper(name) }

func TestNamingStrategies(t *testing.T) {
	for name, ns := range map[string]schema.Namer{
		"NoLowerCase":   schema.NamingStrategy{NoLowerCase: true},
		"SingularTable": schema.NamingStrategy{SingularTable: true},
		"TablePrefix":   schema.NamingStrategy{TablePrefix: "app_"},
		"custom Namer":  upperNamer{},
	} {
		t.Run(name, func(t *testing.T) {
			eachWith(t, func() *gorm.Config { return &gorm.Config{NamingStrategy: ns} }, func(t *testing.T, db *gorm.DB) {
				require.NoError(t, db.Migrator().DropTable(&cache.CachedItem{}))
				require.NoError(t, cache.AutoMigrate(db))
				// One table, cached_items: a model with a TableName gets no
				// prefix, and the columns are pinned.
				require.True(t, db.Migrator().HasTable("cached_items"))
				require.False(t, db.Migrator().HasTable("app_cached_items"))
				for _, col := range []string{"id", "key", "value", "expires_at", "created_at", "updated_at"} {
					var n int64
					require.NoError(t, db.Raw(`SELECT COUNT(?) FROM cached_items`, clause.Column{Name: col}).Scan(&n).Error, col)
				}
				exercise(t, db)
			})
		})
	}
}

// The case: under NoLowerCase, SQLite read "expires_at" as a string
// literal, so an expired entry read as live and ClearExpired kept it.
func TestNoLowerCaseExpiredEntry(t *testing.T) {
	eachWith(t, func() *gorm.Config {
		return &gorm.Config{NamingStrategy: schema.NamingStrategy{NoLowerCase: true}}
	}, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, db.Migrator().DropTable(&cache.CachedItem{}))
		require.NoError(t, cache.AutoMigrate(db))
		require.NoError(t, cache.Cached(db, "gone").Set(1, cache.At(time.Now().Add(-30*time.Minute))))
		ok, err := cache.Cached(db, "gone").Exists()
		require.NoError(t, err)
		require.False(t, ok)
		st, err := cache.Stats(db)
		require.NoError(t, err)
		require.Equal(t, cache.Statistics{Total: 1, Expired: 1}, st)
		n, err := cache.ClearExpired(db)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	})
}

// postgresBackend returns a PostgreSQL backend, or skips (fails under
// CI=true) without a server.
func postgresBackend(t *testing.T) cachetest.Backend {
	t.Helper()
	return cachetest.Postgres(t)
}

func TestPreferSimpleProtocol(t *testing.T) {
	b := postgresBackend(t)
	for _, plugin := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "otelgorm"}[plugin], func(t *testing.T) {
			db := open(t, b, &gorm.Config{}, postgres.Config{PreferSimpleProtocol: true})
			if plugin {
				require.NoError(t, db.Use(otelgorm.NewPlugin(otelgorm.WithoutMetrics())))
			}
			sqlDB, err := db.DB()
			require.NoError(t, err)
			sqlDB.SetMaxOpenConns(1) // one connection, the one inspected below
			exercise(t, db)
			require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
				exercise(t, tx)
				return nil
			}))
			var prepared int64
			require.NoError(t, db.Raw(`SELECT COUNT(*) FROM pg_prepared_statements`).Scan(&prepared).Error)
			require.Zero(t, prepared, "nothing prepared on the server under the simple protocol")
		})
	}
}

func TestDroppedPreparedStatements(t *testing.T) {
	b := postgresBackend(t)
	for _, plugin := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "otelgorm"}[plugin], func(t *testing.T) {
			db := open(t, b, &gorm.Config{})
			if plugin {
				require.NoError(t, db.Use(otelgorm.NewPlugin(otelgorm.WithoutMetrics())))
			}
			sqlDB, err := db.DB()
			require.NoError(t, err)
			sqlDB.SetMaxOpenConns(1) // every call on the connection reset below
			exercise(t, db)
			// GORM's own queries, which go through the same statement
			// cache of pgx, fail once after a reset: only the cache's
			// calls run in between.
			for _, reset := range []string{"DISCARD ALL", "DEALLOCATE ALL", "DISCARD ALL"} {
				require.NoError(t, db.Exec(reset).Error)
				exerciseCache(t, db, false)
			}
			// A table change that changes the result type of Get's cached
			// statement (0A000, "cached plan must not change result
			// type"): value becomes json, then jsonb again.
			require.NoError(t, cache.Cached(db, "k").Set("v"))
			_, _, err = cache.Get[string](db, "k") // prepared and cached
			require.NoError(t, err)
			for _, typ := range []string{"json", "jsonb"} {
				require.NoError(t, db.Exec(`ALTER TABLE cached_items ALTER COLUMN value TYPE `+typ+` USING value::`+typ).Error)
				v, ok, err := cache.Get[string](db, "k")
				require.NoError(t, err, "Get after value became %s", typ)
				require.True(t, ok)
				require.Equal(t, "v", v)
			}
		})
	}
}

// TestDBResolver routes through gorm.io/plugin/dbresolver with a source and
// a replica that does not replicate: a read pinned with dbresolver.Write
// must see what was written to the source.
func TestDBResolver(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			var replica gorm.Dialector
			switch b.Name {
			case "sqlite":
				replica = sqlite.Open(cachetest.SQLiteDSN(filepath.Join(t.TempDir(), "replica.db")))
			case "mysql":
				replica = cachetest.Dialector(b.Name, cachetest.NewDatabase(t, os.Getenv(cachetest.MySQLEnv)))
			default:
				replica = postgres.Open(cachetest.NewSchema(t, os.Getenv(cachetest.PostgresEnv)))
			}
			rdb, err := gorm.Open(replica, cachetest.Config())
			require.NoError(t, err)
			require.NoError(t, cache.AutoMigrate(rdb))
			rsql, err := rdb.DB()
			require.NoError(t, err)
			require.NoError(t, rsql.Close())

			db := open(t, b, &gorm.Config{})
			require.NoError(t, db.Use(dbresolver.Register(dbresolver.Config{Replicas: []gorm.Dialector{replica}})))
			require.NoError(t, cache.Cached(db, "k").Set("on the source")) // writes go to the source
			require.NoError(t, cache.SetMany(db, map[string]any{"a": 1}))

			src := db.Clauses(dbresolver.Write)
			v, ok, err := cache.Get[string](src, "k")
			require.NoError(t, err)
			require.True(t, ok, "a read pinned to the source")
			require.Equal(t, "on the source", v)
			ok, err = cache.Cached(src, "k").Exists()
			require.NoError(t, err)
			require.True(t, ok)
			m, err := cache.GetMany[int](src, []string{"a"})
			require.NoError(t, err)
			require.Len(t, m, 1)
			st, err := cache.Stats(src.WithContext(context.Background()))
			require.NoError(t, err)
			require.EqualValues(t, 2, st.Total)

			// Unpinned reads go to the replica, which has nothing.
			_, ok, err = cache.Get[string](db, "k")
			require.NoError(t, err)
			require.False(t, ok, "an unpinned read goes to the replica")
			_, ok, err = cache.Get[string](db.Clauses(dbresolver.Read), "k")
			require.NoError(t, err)
			require.False(t, ok)
		})
	}
}

// TestHandRegisteredCallbacks registers callbacks by hand on the Query and
// Raw processors, and replaces GORM's own query callback: each must see
// every statement of every operation, also when registered after the
// database was first used.
func TestHandRegisteredCallbacks(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := open(t, b, &gorm.Config{})
			exercise(t, db) // first use, with GORM's callbacks only
			var mu sync.Mutex
			seen := map[string]int{}
			audit := func(kind string) func(*gorm.DB) {
				return func(tx *gorm.DB) {
					mu.Lock()
					defer mu.Unlock()
					seen[kind]++
					seen[kind+" on "+tx.Statement.Table]++
				}
			}
			require.NoError(t, db.Callback().Query().Register("audit:query", audit("query")))
			require.NoError(t, db.Callback().Raw().Register("audit:raw", audit("raw")))

			require.NoError(t, cache.Cached(db, "k").Set(1))
			_, err := cache.Cached(db, "k").Increment(1)
			require.NoError(t, err)
			_, _, err = cache.Get[int](db, "k")
			require.NoError(t, err)
			_, err = cache.Cached(db, "k").Delete()
			require.NoError(t, err)
			want := map[string]int{"query": 2, "query on cached_items": 2, "raw": 2, "raw on cached_items": 2}
			if b.Name == "mysql" { // no RETURNING: Increment is an Exec
				want = map[string]int{"query": 1, "query on cached_items": 1, "raw": 3, "raw on cached_items": 3}
			}
			require.Equal(t, want, seen)

			seen = map[string]int{}
			exercise(t, db)
			require.Positive(t, seen["query"])
			require.Positive(t, seen["raw"])

			// A callback that replaces GORM's query callback runs too.
			db2 := open(t, b, &gorm.Config{})
			replaced := 0
			require.NoError(t, db2.Callback().Query().Replace("gorm:query", func(tx *gorm.DB) {
				replaced++
				callbacks.Query(tx)
			}))
			_, _, err = cache.Get[int](db2, "k")
			require.NoError(t, err)
			require.Equal(t, 1, replaced)
		})
	}
}

// TestDryRun: a DryRun session executes nothing; calls succeed, reads
// report a miss and writes report that nothing was written.
func TestDryRun(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "k").Set("stored", cache.In(time.Hour)))
		require.NoError(t, cache.Cached(db, "old").Set(1, cache.At(time.Now().Add(-time.Minute))))
		before := snapshot(t, db)
		dry := db.Session(&gorm.Session{DryRun: true})
		c := cache.Cached(dry, "k")
		require.NoError(t, c.Set("dry"))
		require.NoError(t, cache.Cached(dry, "new").Set("dry"))
		ok, err := c.Add("dry")
		require.NoError(t, err)
		require.False(t, ok)
		n, err := cache.Cached(dry, "n").Increment(5)
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = c.Decrement(5)
		require.NoError(t, err)
		require.Zero(t, n)
		ok, err = c.Touch()
		require.NoError(t, err)
		require.False(t, ok)
		var s string
		ok, err = c.Get(&s)
		require.NoError(t, err)
		require.False(t, ok, "a dry read is a miss")
		ok, err = c.Exists()
		require.NoError(t, err)
		require.False(t, ok)
		m, err := cache.GetMany[string](dry, []string{"k"})
		require.NoError(t, err)
		require.Empty(t, m)
		calls := 0
		g, err := cache.GetOrSet(dry, "g", func() (string, error) { calls++; return "computed", nil })
		require.NoError(t, err)
		require.Equal(t, "computed", g)
		require.Equal(t, 1, calls)
		many := map[string]any{}
		for i := range 1200 { // more than one chunk: no transaction either
			many[fmt.Sprintf("m%d", i)] = i
		}
		require.NoError(t, cache.SetMany(dry, many))
		d, err := cache.DeleteMany(dry, []string{"k", "old"})
		require.NoError(t, err)
		require.Zero(t, d)
		ok, err = c.Delete()
		require.NoError(t, err)
		require.False(t, ok)
		d, err = cache.ClearExpired(dry)
		require.NoError(t, err)
		require.Zero(t, d)
		d, err = cache.Clear(dry)
		require.NoError(t, err)
		require.Zero(t, d)
		st, err := cache.Stats(dry)
		require.NoError(t, err)
		require.Zero(t, st)
		require.Equal(t, before, snapshot(t, db), "a dry run wrote something")
	})
}

// snapshot returns every row of db's cache table.
func snapshot(t *testing.T, db *gorm.DB) []cache.CachedItem {
	t.Helper()
	var items []cache.CachedItem
	require.NoError(t, db.Order(clause.OrderByColumn{Column: clause.Column{Name: "key"}}).Find(&items).Error)
	return items
}

// TestTablePerCache: two tables in one database are two independent
// caches, for every operation, the scopes, ClearExpired, RunClearExpired,
// Stats and GetOrSet's flights.
func TestTablePerCache(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		{ // The shortest name GORM quotes: one letter.
			short := db.Table("c").Session(&gorm.Session{})
			require.NoError(t, cache.AutoMigrate(short))
			require.NoError(t, cache.Cached(short, "k").Set("short"))
			v, ok, err := cache.Get[string](short, "k")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "short", v)
			require.NoError(t, db.Migrator().DropTable("c_tags", "c"))
		}

		// As GORM requires of any *gorm.DB used for more than one query.
		sessions := db.Table("sessions_cache").Session(&gorm.Session{})
		require.NoError(t, cache.AutoMigrate(sessions))
		require.NoError(t, cache.AutoMigrate(sessions), "idempotent")
		require.True(t, db.Migrator().HasTable("sessions_cache"))
		exercise(t, sessions)
		exercise(t, db)

		require.NoError(t, cache.Cached(db, "k").Set("main"))
		require.NoError(t, cache.Cached(sessions, "k").Set("sessions"))
		require.NoError(t, cache.Cached(sessions, "old").Set(1, cache.At(time.Now().Add(-time.Minute))))
		v, _, err := cache.Get[string](db, "k")
		require.NoError(t, err)
		require.Equal(t, "main", v)
		v, _, err = cache.Get[string](sessions, "k")
		require.NoError(t, err)
		require.Equal(t, "sessions", v)
		st, err := cache.Stats(db)
		require.NoError(t, err)
		require.EqualValues(t, 1, st.Total)
		var expired int64
		require.NoError(t, sessions.Model(&cache.CachedItem{}).Scopes(cache.Expired).Count(&expired).Error)
		require.EqualValues(t, 1, expired)
		require.NoError(t, db.Model(&cache.CachedItem{}).Scopes(cache.Expired).Count(&expired).Error)
		require.EqualValues(t, 0, expired)

		// RunClearExpired on one table leaves the other alone.
		require.NoError(t, cache.Cached(db, "main-old").Set(1, cache.At(time.Now().Add(-time.Minute))))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- cache.RunClearExpired(ctx, sessions, time.Hour) }()
		require.Eventually(t, func() bool {
			st, err := cache.Stats(sessions)
			return err == nil && st.Expired == 0
		}, 10*time.Second, 10*time.Millisecond)
		cancel()
		require.NoError(t, <-done)
		st, err = cache.Stats(db)
		require.NoError(t, err)
		require.EqualValues(t, 1, st.Expired, "the other table's expired entry is still there")

		// GetOrSet on the same key of two tables: two flights, two values.
		release := make(chan struct{})
		var wg sync.WaitGroup
		results, errs := make([]string, 2), make([]error, 2)
		for i, d := range []*gorm.DB{db, sessions} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = cache.GetOrSet(d, "flight", func() (string, error) {
					<-release
					return []string{"main", "sessions"}[i], nil
				})
			}()
		}
		time.Sleep(200 * time.Millisecond) // both in their flights: one shared flight would give one value
		close(release)
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.Equal(t, []string{"main", "sessions"}, results)

		n, err := cache.Clear(sessions) // k and flight
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
		_, ok, err := cache.Get[string](db, "k")
		require.NoError(t, err)
		require.True(t, ok, "Clear of one table leaves the other")
	})
}

func TestTableInTransaction(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.AutoMigrate(db.Table("tx_cache")))
		_, err := cache.Clear(db.Table("tx_cache")) // left by the other run of each
		require.NoError(t, err)
		require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
			exercise(t, tx.Table("tx_cache").Session(&gorm.Session{}))
			return cache.SetMany(tx.Table("tx_cache"), map[string]any{"a": 1})
		}))
		st, err := cache.Stats(db.Table("tx_cache"))
		require.NoError(t, err)
		require.EqualValues(t, 1, st.Total)
		st, err = cache.Stats(db)
		require.NoError(t, err)
		require.Zero(t, st.Total)
	})
}

func TestSchemaQualifiedTable(t *testing.T) {
	b := postgresBackend(t)
	schemaName := fmt.Sprintf("gormcache_q_%d", time.Now().UnixNano())
	require.NoError(t, b.DB.Exec(`CREATE SCHEMA `+schemaName).Error)
	t.Cleanup(func() { _ = b.DB.Exec(`DROP SCHEMA ` + schemaName + ` CASCADE`).Error })
	q := b.DB.Table(schemaName + ".cached_items").Session(&gorm.Session{})
	require.NoError(t, cache.AutoMigrate(q, cache.Unlogged()))
	exercise(t, q)
	require.NoError(t, cache.Cached(q, "k").Set(1))
	st, err := cache.Stats(b.DB)
	require.NoError(t, err)
	require.Zero(t, st.Total)
}

func TestInvalidTable(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		names := append([]string{"a b", "x.y.z", "1abc", strings.Repeat("t", 64), "t;", "cached_items c",
			"a-b", "é", ".t", "t."}, cachetest.SQLInjections...)
		for _, name := range names {
			if name == "_" {
				continue // a valid name
			}
			tdb := db.Table(name)
			require.ErrorIs(t, cache.Cached(tdb, "k").Set(1), cache.ErrInvalidTable, name)
			_, _, err := cache.Get[int](tdb, "k")
			require.ErrorIs(t, err, cache.ErrInvalidTable, name)
			_, err = cache.Stats(tdb)
			require.ErrorIs(t, err, cache.ErrInvalidTable, name)
			_, err = cache.ClearExpired(tdb)
			require.ErrorIs(t, err, cache.ErrInvalidTable, name)
			require.ErrorIs(t, cache.AutoMigrate(tdb), cache.ErrInvalidTable, name)
		}
		_, _, err := cache.Get[int](db.Table("t WHERE ?", 1), "k")
		require.ErrorIs(t, err, cache.ErrInvalidTable)
		require.EqualValues(t, 0, countRows(t, db))
	})
}

type otherModel struct{ ID int64 }

func TestUnsupportedSession(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		require.NoError(t, cache.Cached(db, "k").Set(1))
		for name, s := range map[string]*gorm.DB{
			"Where":    db.Where(`"key" = ?`, "x"),
			"Select":   db.Select("key"),
			"Omit":     db.Omit("value"),
			"Distinct": db.Distinct(),
			"Joins":    db.Joins("JOIN other ON 1 = 1"),
			"Limit":    db.Limit(1),
			"Offset":   db.Offset(1),
			"Order":    db.Order("key"),
			"Group":    db.Group("key"),
			"Scopes":   db.Scopes(func(d *gorm.DB) *gorm.DB { return d }),
			"Raw":      db.Raw("SELECT 1"),
			"Model":    db.Model(&otherModel{}),
			"Preload":  db.Preload("Other"),
			"Locking":  db.Clauses(clause.Locking{Strength: "UPDATE"}),
			"Not":      db.Not(`"key" = ?`, "x"),
		} {
			_, _, err := cache.Get[int](s, "k")
			require.ErrorIs(t, err, cache.ErrUnsupportedSession, name)
			require.ErrorIs(t, cache.Cached(s, "k").Set(2), cache.ErrUnsupportedSession, name)
			_, err = cache.Stats(s)
			require.ErrorIs(t, err, cache.ErrUnsupportedSession, name)
			_, err = cache.ClearExpired(s)
			require.ErrorIs(t, err, cache.ErrUnsupportedSession, name)
		}
		// What does not change the SQL is fine.
		for name, s := range map[string]*gorm.DB{
			"WithContext": db.WithContext(context.Background()),
			"Set":         db.Set("app:tenant", 7),
			"InstanceSet": db.InstanceSet("app:tenant", 7),
			"Session":     db.Session(&gorm.Session{SkipHooks: true, QueryFields: true, SkipDefaultTransaction: true}),
			"Model":       db.Model(&cache.CachedItem{}),
			"Unscoped":    db.Unscoped(),
			"Table":       db.Table("cached_items"),
		} {
			v, ok, err := cache.Get[int](s, "k")
			require.NoError(t, err, name)
			require.True(t, ok, name)
			require.Equal(t, 1, v, name)
			require.NoError(t, cache.Cached(s, "k").Set(1), name)
		}
	})
}

// TestModelTimesInUTC writes entries through the model with times in other
// zones: the hooks store them in UTC, so SQLite's text comparison agrees
// with the clock.
func TestModelTimesInUTC(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		plus5 := time.FixedZone("+05:00", 5*3600)
		minus5 := time.FixedZone("-05:00", -5*3600)
		gone := time.Now().Add(-30 * time.Minute).In(plus5)
		live := time.Now().Add(30 * time.Minute).In(minus5)
		require.NoError(t, db.Create(&cache.CachedItem{Key: "gone", Value: cache.JSON(`1`), ExpiresAt: &gone}).Error)
		require.NoError(t, db.Create(&cache.CachedItem{Key: "live", Value: cache.JSON(`2`), ExpiresAt: &live}).Error)
		ok, err := cache.Cached(db, "gone").Exists()
		require.NoError(t, err)
		require.False(t, ok, "expired 30 minutes ago, written at +05:00")
		ok, err = cache.Cached(db, "live").Exists()
		require.NoError(t, err)
		require.True(t, ok, "expires in 30 minutes, written at -05:00")
		n, err := cache.ClearExpired(db)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		ok, err = cache.Cached(db, "live").Exists()
		require.NoError(t, err)
		require.True(t, ok, "ClearExpired kept the live entry")
		it := row(t, db, "live")
		require.False(t, it.CreatedAt.IsZero())
		require.False(t, it.UpdatedAt.IsZero())

		// Save and Updates go through the hooks too.
		soon := time.Now().Add(-time.Minute).In(plus5)
		it.ExpiresAt = &soon
		require.NoError(t, db.Save(&it).Error)
		ok, err = cache.Cached(db, "live").Exists()
		require.NoError(t, err)
		require.False(t, ok, "saved with an expiry a minute ago, at +05:00")
		later := time.Now().Add(time.Hour).In(minus5)
		require.NoError(t, db.Model(&it).Updates(map[string]any{"expires_at": later}).Error)
		ok, err = cache.Cached(db, "live").Exists()
		require.NoError(t, err)
		require.True(t, ok, "updated to an hour from now, at -05:00")
		if db.Dialector.Name() == "sqlite" { // stored as text: in UTC, as the cache writes
			var raw []string
			require.NoError(t, db.Raw(`SELECT "expires_at" || ' ' || "created_at" || ' ' || "updated_at" `+
				`FROM "cached_items"`).Scan(&raw).Error)
			for _, r := range raw {
				require.NotContains(t, r, "05:00", r)
				require.Contains(t, r, "+00:00", r)
			}
		}
		after := row(t, db, "live")
		require.True(t, after.UpdatedAt.After(it.CreatedAt) || after.UpdatedAt.Equal(it.CreatedAt))
	})
}
