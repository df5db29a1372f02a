// Package benchdb opens and fills the databases of gormcache's benchmarks:
// SQLite files with the recommended DSN, throwaway schemas on the
// PostgreSQL server of CACHE_TEST_POSTGRES_DSN and throwaway databases on the
// MySQL server of CACHE_TEST_MYSQL_DSN.
package benchdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/gormcache/cache"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for raw and scs
	_ "github.com/mattn/go-sqlite3"    // "sqlite3" driver for raw and scs
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// PostgresEnv names the environment variable holding the PostgreSQL DSN.
const PostgresEnv = "CACHE_TEST_POSTGRES_DSN"

// MySQLEnv names the environment variable holding the MySQL DSN, in
// go-sql-driver's form.
const MySQLEnv = "CACHE_TEST_MYSQL_DSN"

// SQLiteParams are the recommended SQLite DSN parameters.
const SQLiteParams = "_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate&_synchronous=NORMAL"

// SQLiteDSN returns the recommended DSN for the SQLite file at path.
func SQLiteDSN(path string) string { return "file:" + path + "?" + SQLiteParams }

// GormConfig is the GORM configuration of every benchmark: silent logger.
func GormConfig() *gorm.Config {
	return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)}
}

// Open opens a GORM DB on a SQLite file path or a postgres:// DSN.
func Open(dsn string) (*gorm.DB, error) {
	if IsMySQL(dsn) {
		six := 6 // the README's recommended setting: microsecond times
		return gorm.Open(mysql.New(mysql.Config{DSN: dsn, DefaultDatetimePrecision: &six}), GormConfig())
	}
	if IsPostgres(dsn) {
		return gorm.Open(postgres.Open(dsn), GormConfig())
	}
	return gorm.Open(sqlite.Open(SQLiteDSN(dsn)), GormConfig())
}

// OpenSQL opens a database/sql pool on a SQLite file path or a postgres://
// DSN, with the drivers GORM uses.
func OpenSQL(dsn string) (*sql.DB, error) {
	if IsMySQL(dsn) {
		return sql.Open("mysql", dsn)
	}
	if IsPostgres(dsn) {
		return sql.Open("pgx", dsn)
	}
	return sql.Open("sqlite3", SQLiteDSN(dsn))
}

// IsPostgres reports whether dsn is a PostgreSQL URL rather than a file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// IsMySQL reports whether dsn is a go-sql-driver DSN (user:pass@tcp(...)/db).
func IsMySQL(dsn string) bool {
	return !IsPostgres(dsn) && (strings.Contains(dsn, "@tcp(") || strings.Contains(dsn, "@unix("))
}

// isMySQLDB reports whether db runs on go-sql-driver.
func isMySQLDB(db *sql.DB) bool {
	_, ok := db.Driver().(*gomysql.MySQLDriver)
	return ok
}

// NewDatabase creates an empty database named prefix_<random> on the MySQL
// server of base and returns base's DSN for it, and a function that drops
// it.
func NewDatabase(ctx context.Context, base, prefix string) (string, func() error, error) {
	cfg, err := gomysql.ParseDSN(base)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", MySQLEnv, err)
	}
	admin, err := sql.Open("mysql", base)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := cfg.DBName + "_" + prefix + "_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4"); err != nil {
		_ = admin.Close()
		return "", nil, err
	}
	drop := func() error {
		defer admin.Close()
		_, err := admin.ExecContext(ctx, "DROP DATABASE `"+name+"`")
		return err
	}
	cfg.DBName = name
	return cfg.FormatDSN(), drop, nil
}

// NewSchema creates an empty schema named prefix_<random> on the server of
// base and returns a DSN whose search_path is that schema, and a function
// that drops it.
func NewSchema(ctx context.Context, base, prefix string) (string, func() error, error) {
	u, err := url.Parse(base)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return "", nil, fmt.Errorf("%s must be a postgres:// URL", PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	schema := prefix + "_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		_ = admin.Close()
		return "", nil, err
	}
	drop := func() error {
		defer admin.Close()
		_, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`)
		return err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// Item is the cached value: about 100 bytes of JSON.
type Item struct {
	ID     int      `json:"id"`
	Name   string   `json:"name"`
	Email  string   `json:"email"`
	Tags   []string `json:"tags"`
	Score  float64  `json:"score"`
	Active bool     `json:"active"`
}

// Key returns the key of row i.
func Key(i int) string { return fmt.Sprintf("item:%07d", i) }

// Value returns the value of row i.
func Value(i int) Item {
	s := fmt.Sprintf("%07d", i)
	return Item{ID: i, Name: "user-" + s, Email: "user" + s + "@example.com",
		Tags: []string{"alpha", "beta"}, Score: float64(i) * 1.5, Active: i%2 == 0}
}

// Mix says which rows of a load expire when.
type Mix int

const (
	// AllLive: even rows expire in a day, odd rows never.
	AllLive Mix = iota
	// HalfExpired: even rows expired (spread over the last hour), rows
	// i%4 == 1 expire in an hour, rows i%4 == 3 never.
	HalfExpired
)

func (m Mix) expiry(now time.Time, i int) *time.Time {
	var t time.Time
	switch {
	case m == AllLive && i%2 == 0:
		t = now.Add(24 * time.Hour)
	case m == AllLive:
		return nil
	case i%2 == 0:
		t = now.Add(-time.Hour + time.Duration(i)*time.Microsecond%time.Hour)
	case i%4 == 1:
		t = now.Add(time.Hour)
	default:
		return nil
	}
	return &t
}

// LoadItems fills the (migrated, empty) cached_items table with rows 0..n-1
// as gormcache would write them, then settles it (see Settle).
func LoadItems(ctx context.Context, db *sql.DB, pg bool, n int, mix Mix) error {
	now := time.Now().UTC()
	if pg {
		exp := `CASE WHEN i % 2 = 0 THEN now() + interval '1 day' END`
		if mix == HalfExpired {
			exp = `CASE WHEN i % 2 = 0 THEN now() - interval '1 hour' + (i % 3600000000) * interval '1 microsecond' ` +
				`WHEN i % 4 = 1 THEN now() + interval '1 hour' END`
		}
		_, err := db.ExecContext(ctx, `INSERT INTO cached_items (key, value, expires_at, created_at, updated_at) `+
			`SELECT 'item:' || lpad(i::text, 7, '0'), jsonb_build_object('id', i, 'name', 'user-' || lpad(i::text, 7, '0'), `+
			`'email', 'user' || lpad(i::text, 7, '0') || '@example.com', 'tags', jsonb_build_array('alpha', 'beta'), `+
			`'score', i * 1.5, 'active', i % 2 = 0), `+exp+`, now(), now() FROM generate_series(0, $1 - 1) AS i`, n)
		if err != nil {
			return err
		}
		return Settle(ctx, db, pg, "cached_items")
	}
	head := `INSERT INTO cached_items (key, value, expires_at, created_at, updated_at) VALUES `
	if isMySQLDB(db) {
		head = "INSERT INTO cached_items (`key`, value, expires_at, created_at, updated_at) VALUES "
	}
	err := insertRows(ctx, db, n, 5, head,
		func(i int, args []any) []any {
			b, _ := json.Marshal(Value(i))
			var exp any
			if t := mix.expiry(now, i); t != nil {
				exp = *t
			}
			return append(args, Key(i), string(b), exp, now, now)
		})
	if err != nil {
		return err
	}
	return Settle(ctx, db, pg, "cached_items")
}

// LoadSessions fills scs's (created, empty) sessions table with rows
// 0..n-1, each expiring in a day, then settles it (see Settle).
func LoadSessions(ctx context.Context, db *sql.DB, pg bool, n int) error {
	if pg {
		_, err := db.ExecContext(ctx, `INSERT INTO sessions (token, data, expiry) `+
			`SELECT 'item:' || lpad(i::text, 7, '0'), convert_to(jsonb_build_object('id', i, 'name', 'user-' || lpad(i::text, 7, '0'), `+
			`'email', 'user' || lpad(i::text, 7, '0') || '@example.com', 'tags', jsonb_build_array('alpha', 'beta'), `+
			`'score', i * 1.5, 'active', i % 2 = 0)::text, 'UTF8'), now() + interval '1 day' FROM generate_series(0, $1 - 1) AS i`, n)
		if err != nil {
			return err
		}
		return Settle(ctx, db, pg, "sessions")
	}
	var exp any = time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02T15:04:05.999")
	if isMySQLDB(db) {
		exp = time.Now().UTC().Add(24 * time.Hour)
	}
	err := insertRows(ctx, db, n, 3, `INSERT INTO sessions (token, data, expiry) VALUES `,
		func(i int, args []any) []any {
			b, _ := json.Marshal(Value(i))
			return append(args, Key(i), b, exp)
		})
	if err != nil {
		return err
	}
	return Settle(ctx, db, pg, "sessions")
}

// MySQLSessionsTable is the DDL of scs's mysqlstore table (its README's).
const MySQLSessionsTable = `CREATE TABLE sessions (token CHAR(43) PRIMARY KEY, data BLOB NOT NULL, expiry TIMESTAMP(6) NOT NULL)`

// SessionsTable returns the DDL of scs's sessions table.
func SessionsTable(pg bool) string {
	if pg {
		return `CREATE TABLE sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)`
	}
	return `CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL)`
}

// insertRows inserts n SQLite rows of width columns in one transaction,
// 100 rows per statement; expiry values go through julianday on the
// sessions table.
func insertRows(ctx context.Context, db *sql.DB, n, width int, head string, row func(i int, args []any) []any) error {
	const per = 100
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	if strings.Contains(head, "sessions") && !isMySQLDB(db) {
		tuple = "(?, ?, julianday(?))"
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	stmts := map[int]*sql.Stmt{}
	args := make([]any, 0, per*width)
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		st, ok := stmts[hi-lo]
		if !ok {
			q := head + strings.TrimSuffix(strings.Repeat(tuple+", ", hi-lo), ", ")
			if st, err = tx.PrepareContext(ctx, q); err != nil {
				return err
			}
			stmts[hi-lo] = st
		}
		args = args[:0]
		for i := lo; i < hi; i++ {
			args = row(i, args)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert rows %d..%d: %w", lo, hi, err)
		}
	}
	return tx.Commit()
}

// Settle brings a freshly loaded table to a quiet state, the same before
// every timed run, so that no background work left over from the load lands
// in it. On SQLite the WAL is checkpointed into the database file. On
// PostgreSQL the table is vacuumed and analyzed (autovacuum then has nothing
// to do on it, and hint bits and the visibility map are set), then a
// CHECKPOINT is taken: the run does not inherit a checkpoint that the load
// made due, and every run pays the same full-page writes. table is one of
// the benchmark tables, "cached_items" or "sessions".
// On MySQL the table's statistics are recomputed (ANALYZE TABLE), then
// Settle waits for InnoDB's purge to clear the old row versions the load or
// an update left (see waitPurge).
func Settle(ctx context.Context, db *sql.DB, pg bool, table string) error {
	if isMySQLDB(db) {
		q := `ANALYZE TABLE cached_items`
		if table == "sessions" {
			q = `ANALYZE TABLE sessions`
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
		_, err := WaitPurge(ctx, db)
		return err
	}
	if !pg {
		_, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		return err
	}
	q := `VACUUM ANALYZE cached_items`
	if table == "sessions" {
		q = `VACUUM ANALYZE sessions`
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			return fmt.Errorf("CHECKPOINT: %w", err)
		}
		checkpointWarning.Do(func() {
			fmt.Fprintln(os.Stderr, "benchdb: the role may not CHECKPOINT (GRANT pg_checkpoint TO it, as "+
				"scripts/postgres-test-db.sh does): PostgreSQL figures will be noisier")
		})
	}
	return nil
}

var checkpointWarning sync.Once

// WaitPurge waits, for at most a minute, until InnoDB's history list is
// empty: the purge thread has removed what earlier transactions deleted or
// replaced. Measured after an update of 10,000 rows, a run that did not
// wait read 1.3 times slower while the purge ran beside it. MariaDB reports
// the length as a status variable to any user; where it does not (MySQL 8
// has it only in information_schema.INNODB_METRICS, behind PROCESS),
// WaitPurge returns at once. It returns how long it waited.
func WaitPurge(ctx context.Context, db *sql.DB) (time.Duration, error) {
	begin := time.Now()
	deadline := begin.Add(time.Minute)
	for {
		var name string
		var n int64
		err := db.QueryRowContext(ctx, `SHOW GLOBAL STATUS LIKE 'Innodb_history_list_length'`).Scan(&name, &n)
		if errors.Is(err, sql.ErrNoRows) || err == nil && n == 0 {
			return time.Since(begin), nil
		}
		if err != nil {
			return 0, fmt.Errorf("history list length: %w", err)
		}
		if time.Now().After(deadline) {
			purgeWarning.Do(func() {
				fmt.Fprintf(os.Stderr, "benchdb: InnoDB's history list still holds %d entries after a minute: "+
					"MySQL figures will be noisier\n", n)
			})
			return time.Since(begin), nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var purgeWarning sync.Once

// EachDatabase calls fn with the name and DSN of every database the
// environment configures, in order: SQLite (a file in dir), PostgreSQL (a
// schema of its own) and MySQL (a database of its own), each dropped after
// fn returns. A database whose variable is unset is skipped with a message
// on stderr; only, when not empty, keeps just the database of that name.
// name prefixes the PostgreSQL schema and MySQL database (a command's
// name).
func EachDatabase(ctx context.Context, dir, name, only string, fn func(db, dsn string) error) error {
	run := func(db, dsn string, drop func() error) error {
		if drop != nil {
			defer drop() //nolint:errcheck // best effort
		}
		if err := fn(db, dsn); err != nil {
			return fmt.Errorf("%s: %w", db, err)
		}
		return nil
	}
	want := func(db string) bool { return only == "" || only == db }
	if want("sqlite") {
		if err := run("sqlite", filepath.Join(dir, name+".db"), nil); err != nil {
			return err
		}
	}
	if base := os.Getenv(PostgresEnv); base == "" {
		fmt.Fprintf(os.Stderr, "skipping PostgreSQL: set %s to run it\n", PostgresEnv)
	} else if want("postgres") {
		dsn, drop, err := NewSchema(ctx, base, "gormcache_bench_"+name)
		if err != nil {
			return err
		}
		if err := run("postgres", dsn, drop); err != nil {
			return err
		}
	}
	if base := os.Getenv(MySQLEnv); base == "" {
		fmt.Fprintf(os.Stderr, "skipping MySQL: set %s to run it\n", MySQLEnv)
	} else if want("mysql") {
		dsn, drop, err := NewDatabase(ctx, base, name)
		if err != nil {
			return err
		}
		if err := run("mysql", dsn, drop); err != nil {
			return err
		}
	}
	return nil
}

// Batches is a GORM logger that records how long each statement that
// writes took: the batches of a chore. Queries (SELECT) are left out: a
// chore's bound or cutoff query holds no lock a writer would wait for.
type Batches struct {
	logger.Interface
	mu   sync.Mutex
	took []time.Duration
}

// NewBatches returns a Batches that logs nothing else.
func NewBatches() *Batches {
	return &Batches{Interface: logger.Default.LogMode(logger.Silent)}
}

// Trace records the statement's duration unless it is a query.
func (b *Batches) Trace(_ context.Context, begin time.Time, fc func() (string, int64), _ error) {
	d := time.Since(begin)
	if q, _ := fc(); strings.HasPrefix(q, "SELECT") {
		return
	}
	b.mu.Lock()
	b.took = append(b.took, d)
	b.mu.Unlock()
}

// Reset returns the durations recorded since the last Reset.
func (b *Batches) Reset() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.took
	b.took = nil
	return t
}

// Empty deletes every row of the tables before a load. On MySQL it
// truncates them: a DELETE would leave InnoDB's purge of a million rows
// running in the background into the next timed run.
func Empty(ctx context.Context, db *sql.DB, pg bool, tables ...string) error {
	for _, t := range tables {
		q := "DELETE FROM " + t
		if isMySQLDB(db) {
			q = "TRUNCATE TABLE " + t
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
		if pg {
			if _, err := db.ExecContext(ctx, "VACUUM "+t); err != nil {
				return err
			}
		}
	}
	return nil
}

// OpenMigrated opens dsn (see Open) as a session that logs to log and runs
// under ctx, and creates the cache table. The caller closes the pool.
func OpenMigrated(ctx context.Context, dsn string, log logger.Interface) (*gorm.DB, *sql.DB, error) {
	g, err := Open(dsn)
	if err != nil {
		return nil, nil, err
	}
	g = g.Session(&gorm.Session{Logger: log, Context: ctx})
	sqlDB, err := g.DB()
	if err != nil {
		return nil, nil, err
	}
	if err := cache.AutoMigrate(g); err != nil {
		_ = sqlDB.Close()
		return nil, nil, err
	}
	return g, sqlDB, nil
}
