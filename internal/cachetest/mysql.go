package cachetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// MySQLEnv names the environment variable holding the MySQL or MariaDB DSN,
// in go-sql-driver's form: user:pass@tcp(127.0.0.1:3306)/db?parseTime=true.
const MySQLEnv = "CACHE_TEST_MYSQL_DSN"

// MySQL opens a migrated, empty database of its own on the server of
// CACHE_TEST_MYSQL_DSN, dropped when the test ends. It skips the test when
// the DSN is missing, or fails it under CI=true.
func MySQL(t testing.TB) Backend {
	t.Helper()
	b, ok := mysqlOrSkip(t)
	if !ok {
		t.SkipNow()
	}
	return b
}

func mysqlOrSkip(t testing.TB) (Backend, bool) {
	t.Helper()
	base := os.Getenv(MySQLEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the MySQL tests", MySQLEnv)
		}
		t.Logf("skipping MySQL: set %s to run it (scripts/mysql-test-db.sh starts a server)", MySQLEnv)
		return Backend{}, false
	}
	dsn := NewDatabase(t, base)
	db, err := gorm.Open(Dialector("mysql", dsn), Config())
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	closeOnCleanup(t, db)
	if err := cache.AutoMigrate(db); err != nil {
		t.Fatalf("migrate mysql: %v", err)
	}
	return Backend{Name: "mysql", DB: db, DSN: dsn}, true
}

var myAdmin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// NewDatabase creates an empty database on the MySQL server of base (a
// go-sql-driver DSN) and returns base's DSN for it. The database is dropped
// when t ends. The DSN's user needs CREATE and DROP on databases whose names
// start with the DSN's database name.
func NewDatabase(t testing.TB, base string) string {
	t.Helper()
	cfg, err := gomysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("%s: %v", MySQLEnv, err)
	}
	myAdmin.once.Do(func() {
		myAdmin.db, myAdmin.err = sql.Open("mysql", base)
		if myAdmin.err == nil {
			myAdmin.db.SetMaxOpenConns(2)
			myAdmin.err = myAdmin.db.Ping()
		}
	})
	if myAdmin.err != nil {
		t.Fatalf("connect to %s: %v", MySQLEnv, myAdmin.err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := cfg.DBName + "_" + hex.EncodeToString(b)
	if _, err := myAdmin.db.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := myAdmin.db.Exec("DROP DATABASE `" + name + "`"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// WithOtherSettings returns dsn with the two go-sql-driver settings that
// change what gormcache sees: clientFoundRows=true, under which MySQL counts
// rows that an UPDATE matched but left unchanged as affected, and
// interpolateParams=true, under which arguments travel inside the
// statement's text (one packet, bounded by max_allowed_packet) instead of
// as a prepared statement's parameters.
func WithOtherSettings(t testing.TB, dsn string) string {
	t.Helper()
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("mysql dsn: %v", err)
	}
	cfg.ClientFoundRows = true
	cfg.InterpolateParams = true
	return cfg.FormatDSN()
}
