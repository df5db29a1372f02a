// Package cachetest opens real databases for gormcache's tests: a SQLite file
// in the test's temporary directory and, when CACHE_TEST_POSTGRES_DSN is set,
// a fresh schema on that PostgreSQL server. Under CI=true a missing DSN fails
// the test instead of skipping it.
package cachetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver for the admin pool
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
)

// PostgresEnv names the environment variable holding the PostgreSQL DSN.
const PostgresEnv = "CACHE_TEST_POSTGRES_DSN"

// SQLiteParams are the recommended SQLite DSN parameters: WAL lets readers
// run beside the writer, the busy timeout makes a writer wait for the lock
// instead of failing, and immediate transactions take the write lock up front
// so that a transaction never fails to upgrade a read lock.
const SQLiteParams = "_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate&_synchronous=NORMAL"

// Backend is one database to run a test against.
type Backend struct {
	Name string // "sqlite", "postgres", "pgbouncer" or "mysql"
	DB   *gorm.DB
	// DSN opens the same database again (another process, a CLI run).
	DSN string
}

// Backends returns SQLite, PostgreSQL, PostgreSQL through PgBouncer in
// transaction mode and MySQL (or MariaDB), each migrated and empty, and
// closed when the test ends. On a machine without CACHE_TEST_POSTGRES_DSN,
// pgbouncer or CACHE_TEST_MYSQL_DSN, outside CI, those are left out with a
// message.
func Backends(t testing.TB) []Backend {
	t.Helper()
	bs := []Backend{SQLite(t)}
	if pg, ok := postgresOrSkip(t); ok {
		bs = append(bs, pg)
		if pb, ok := pgBouncerOrSkip(t); ok {
			bs = append(bs, pb)
		}
	}
	if my, ok := mysqlOrSkip(t); ok {
		bs = append(bs, my)
	}
	return bs
}

// Config returns the GORM config the tests use: quiet logger.
func Config() *gorm.Config {
	return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)}
}

// SQLiteDSN returns the recommended DSN for a SQLite file.
func SQLiteDSN(path string) string {
	return "file:" + path + "?" + SQLiteParams
}

// SQLite opens a migrated SQLite file database in t.TempDir.
func SQLite(t testing.TB) Backend {
	t.Helper()
	dsn := SQLiteDSN(filepath.Join(t.TempDir(), "cache.db"))
	db, err := gorm.Open(sqlite.Open(dsn), Config())
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	closeOnCleanup(t, db)
	if err := cache.AutoMigrate(db); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return Backend{Name: "sqlite", DB: db, DSN: dsn}
}

// Postgres opens a migrated, empty schema of its own on the PostgreSQL
// server of CACHE_TEST_POSTGRES_DSN, dropped when the test ends. It skips
// the test when the DSN is missing, or fails it under CI=true.
func Postgres(t testing.TB) Backend {
	t.Helper()
	pg, ok := postgresOrSkip(t)
	if !ok {
		t.SkipNow()
	}
	return pg
}

func postgresOrSkip(t testing.TB) (Backend, bool) {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests", PostgresEnv)
		}
		t.Logf("skipping PostgreSQL: set %s to run it", PostgresEnv)
		return Backend{}, false
	}
	dsn := NewSchema(t, base)
	db, err := gorm.Open(postgres.Open(dsn), Config())
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	closeOnCleanup(t, db)
	if err := cache.AutoMigrate(db); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	return Backend{Name: "postgres", DB: db, DSN: dsn}, true
}

var admin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// NewSchema creates an empty schema on the server of base and returns a DSN
// whose search_path is that schema. The schema is dropped when t ends.
func NewSchema(t testing.TB, base string) string {
	t.Helper()
	admin.once.Do(func() {
		admin.db, admin.err = sql.Open("pgx", base)
		if admin.err == nil {
			admin.db.SetMaxOpenConns(2)
			admin.err = admin.db.Ping()
		}
	})
	if admin.err != nil {
		t.Fatalf("connect to %s: %v", PostgresEnv, admin.err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "gormcache_test_" + hex.EncodeToString(b)
	if _, err := admin.db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		t.Fatalf("%s must be a postgres:// URL: %q", PostgresEnv, base)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func closeOnCleanup(t testing.TB, db *gorm.DB) {
	t.Helper()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatalf("sql.DB: %v", err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
}

// Reopen opens b's database again as a new *gorm.DB with its own pool and
// GORM config (plugins registered on it stay on it), closed when t ends.
func Reopen(t testing.TB, b Backend) *gorm.DB {
	t.Helper()
	d := Dialector(b.Name, b.DSN)
	if d == nil {
		t.Fatalf("unknown backend %q", b.Name)
	}
	db, err := gorm.Open(d, Config())
	if err != nil {
		t.Fatalf("reopen %s: %v", b.Name, err)
	}
	closeOnCleanup(t, db)
	return db
}

// Dialector opens the database of a backend named name at dsn, as the
// backend does; nil for an unknown name.
func Dialector(name, dsn string) gorm.Dialector {
	switch name {
	case "sqlite":
		return sqlite.Open(dsn)
	case "postgres":
		return postgres.Open(dsn)
	case "pgbouncer":
		return postgres.New(postgres.Config{DSN: dsn, PreferSimpleProtocol: true})
	case "mysql":
		// Microsecond times, as on PostgreSQL: GORM's MySQL default is
		// DATETIME(3), which rounds to milliseconds.
		six := 6
		return mysql.New(mysql.Config{DSN: dsn, DefaultDatetimePrecision: &six})
	}
	return nil
}

// SQLInjections are keys, values and search texts that would change a query
// built from them as text: quotes, comments, placeholders of both databases,
// LIKE wildcards and statement separators. All ASCII, so that Go's case
// folding matches the databases'. Each package's security test adds the
// strings its own surface needs (HTML, terminal escapes).
var SQLInjections = []string{
	`'; DROP TABLE canary; --`,
	`" OR 1=1 --`,
	`k' OR '1'='1`,
	`k") OR ("1"="1`,
	`') ON CONFLICT DO NOTHING; DELETE FROM canary; --`,
	`$1`,
	`? ? ?`,
	`@key`,
	`%s%d%v`,
	`$$; DROP TABLE canary; $$`,
	`\'; DROP TABLE canary; --`,
	`"],["x`,
	`'||(SELECT count(*) FROM canary)||'`,
	`*/ DELETE FROM canary /*`,
	`%`,
	`_`,
	`k; VACUUM`,
	`\`,
	`?`,
}
