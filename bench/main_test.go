package bench_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/bench/internal/benchdb"
)

// rows is how many entries every Ops benchmark starts with.
const rows = 10_000

// env is the process-wide state of the benchmarks: a temporary directory,
// the PostgreSQL schemas and the redis-server, all removed by TestMain.
var env struct {
	dir      string
	mu       sync.Mutex
	cleanups []func()
	once     map[string]*onceVal
	seq      atomic.Int64
}

type onceVal struct {
	once sync.Once
	v    any
	err  error
}

// shared returns the value that make returned the first time shared was
// called with name in this process.
func shared[T any](name string, make func() (T, error)) (T, error) {
	env.mu.Lock()
	o := env.once[name]
	if o == nil {
		o = &onceVal{}
		env.once[name] = o
	}
	env.mu.Unlock()
	o.once.Do(func() { o.v, o.err = make() })
	v, _ := o.v.(T)
	return v, o.err
}

func atExit(f func()) {
	env.mu.Lock()
	defer env.mu.Unlock()
	env.cleanups = append(env.cleanups, f)
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gormcache-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env.dir = dir
	env.once = map[string]*onceVal{}
	code := m.Run()
	for i := len(env.cleanups) - 1; i >= 0; i-- {
		env.cleanups[i]()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// Databases of BenchmarkOps.
var opsDBs = []string{"sqlite", "postgres", "postgres-unlogged", "mysql", "redis"}

// Implementations per database. The targets compare gormcache with raw,
// so those two always run next to each other; run.sh sets BENCH_ROUND, and
// on even rounds raw goes first, so that neither always runs first.
func implsFor(db string) []string {
	if db == "redis" {
		return []string{"goredis"}
	}
	if r, err := strconv.Atoi(os.Getenv("BENCH_ROUND")); err == nil && r%2 == 0 {
		return []string{"raw", "gormcache", "scs", "naivegorm"}
	}
	return []string{"gormcache", "raw", "naivegorm", "scs"}
}

// warmUp reads a few entries untimed, so that connections, prepared
// statements and caches are warm when the timer starts. Reads leave the
// database state as it was.
func warmUp(b *testing.B, k kv) {
	b.Helper()
	var v Item
	for i := range 200 {
		if _, err := k.Get(hitKeys[i], &v); err != nil {
			b.Fatalf("warm up: %v", err)
		}
	}
}

func pgDSN(b testing.TB) string {
	b.Helper()
	dsn := os.Getenv(benchdb.PostgresEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			b.Fatalf("%s is not set: CI must run the PostgreSQL benchmarks", benchdb.PostgresEnv)
		}
		b.Skipf("set %s to run the PostgreSQL benchmarks", benchdb.PostgresEnv)
	}
	return dsn
}

func mysqlDSN(b testing.TB) string {
	b.Helper()
	dsn := os.Getenv(benchdb.MySQLEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			b.Fatalf("%s is not set: CI must run the MySQL benchmarks", benchdb.MySQLEnv)
		}
		b.Skipf("set %s to run the MySQL benchmarks", benchdb.MySQLEnv)
	}
	return dsn
}

// tunePool applies the pool settings all implementations share.
func tunePool(db *sql.DB) {
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
}

// fresh returns impl on database db over the benchmark's starting state:
// rows entries (sessions for scs, keys for goredis), nothing else, and on
// SQLite an empty WAL. Call it before b.ResetTimer each time the benchmark
// function runs.
func fresh(b *testing.B, db, impl string) kv {
	b.Helper()
	var (
		k   kv
		err error
	)
	switch db {
	case "sqlite":
		k, err = freshSQLite(b, impl)
	case "postgres", "postgres-unlogged":
		k, err = freshPostgres(b, db == "postgres-unlogged", impl)
	case "mysql":
		k, err = freshMySQL(b, impl)
	case "redis":
		k, err = freshRedis(b)
	}
	if err != nil {
		b.Fatalf("%s/%s: %v", db, impl, err)
	}
	warmUp(b, k)
	return k
}

// sqliteTemplate returns a checkpointed SQLite file holding rows entries in
// the table impl uses.
func sqliteTemplate(table string) (string, error) {
	return shared("sqlite-template-"+table, func() (string, error) {
		path := filepath.Join(env.dir, "template-"+table+".db")
		ctx := context.Background()
		if table == "items" {
			g, err := benchdb.Open(path)
			if err != nil {
				return "", err
			}
			sqlDB, _ := g.DB()
			defer sqlDB.Close()
			if err := cache.AutoMigrate(g); err != nil {
				return "", err
			}
			return path, benchdb.LoadItems(ctx, sqlDB, false, rows, benchdb.AllLive)
		}
		sqlDB, err := benchdb.OpenSQL(path)
		if err != nil {
			return "", err
		}
		defer sqlDB.Close()
		if _, err := sqlDB.Exec(benchdb.SessionsTable(false)); err != nil {
			return "", err
		}
		return path, benchdb.LoadSessions(ctx, sqlDB, false, rows)
	})
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// freshSQLite copies the template into a new file and opens impl on it.
func freshSQLite(b *testing.B, impl string) (kv, error) {
	table := "items"
	if impl == "scs" {
		table = "sessions"
	}
	tmpl, err := sqliteTemplate(table)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(env.dir, impl+"-"+strconv.FormatInt(env.seq.Add(1), 10)+".db")
	if err := copyFile(path, tmpl); err != nil {
		return nil, err
	}
	b.Cleanup(func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(path + suffix)
		}
	})
	return openKV(b, impl, path, false)
}

// openKV opens impl on dsn (a SQLite path or a PostgreSQL URL) and closes
// it when b ends.
func openKV(b testing.TB, impl, dsn string, pg bool) (kv, error) {
	switch impl {
	case "gormcache", "naivegorm":
		g, err := benchdb.Open(dsn)
		if err != nil {
			return nil, err
		}
		sqlDB, _ := g.DB()
		tunePool(sqlDB)
		b.Cleanup(func() { _ = sqlDB.Close() })
		if impl == "gormcache" {
			return gormcacheKV{g}, nil
		}
		return naiveKV{db: g, pg: pg}, nil
	case "raw", "scs":
		sqlDB, err := benchdb.OpenSQL(dsn)
		if err != nil {
			return nil, err
		}
		tunePool(sqlDB)
		b.Cleanup(func() { _ = sqlDB.Close() })
		if impl == "scs" {
			return newScsKV(sqlDB, pg), nil
		}
		return newRawKV(context.Background(), sqlDB, pg)
	}
	return nil, fmt.Errorf("unknown implementation %q", impl)
}

// pgState is one implementation's schema and pool on PostgreSQL, kept for
// the whole process and reset before each benchmark.
type pgState struct {
	k     kv
	admin *sql.DB
	table string
}

func freshPostgres(b *testing.B, unlogged bool, impl string) (kv, error) {
	base := pgDSN(b)
	name := "pg-" + impl
	if unlogged {
		name = "pgu-" + impl
	}
	st, err := shared(name, func() (*pgState, error) {
		ctx := context.Background()
		dsn, drop, err := benchdb.NewSchema(ctx, base, "gormcache_bench")
		if err != nil {
			return nil, err
		}
		atExit(func() { _ = drop() })
		admin, err := benchdb.OpenSQL(dsn)
		if err != nil {
			return nil, err
		}
		atExit(func() { _ = admin.Close() })
		st := &pgState{admin: admin, table: "cached_items"}
		if impl == "scs" {
			st.table = "sessions"
			ddl := benchdb.SessionsTable(true)
			if unlogged {
				ddl = "CREATE UNLOGGED TABLE" + ddl[len("CREATE TABLE"):]
			}
			if _, err := admin.Exec(ddl); err != nil {
				return nil, err
			}
		} else {
			g, err := benchdb.Open(dsn)
			if err != nil {
				return nil, err
			}
			var opts []cache.MigrateOption
			if unlogged {
				opts = append(opts, cache.Unlogged())
			}
			err = cache.AutoMigrate(g, opts...)
			if sqlDB, _ := g.DB(); sqlDB != nil {
				_ = sqlDB.Close()
			}
			if err != nil {
				return nil, err
			}
		}
		// Autovacuum could start in the middle of one implementation's
		// run and not another's; each run starts from a vacuumed table
		// instead (benchdb.Settle).
		if _, err := admin.Exec(`ALTER TABLE ` + st.table + ` SET (autovacuum_enabled = off)`); err != nil {
			return nil, err
		}
		keep := &keeper{}
		st.k, err = openKV(keep, impl, dsn, true)
		atExit(keep.run)
		return st, err
	})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if _, err := st.admin.Exec(`TRUNCATE ` + st.table + ` RESTART IDENTITY`); err != nil {
		return nil, err
	}
	if st.table == "sessions" {
		err = benchdb.LoadSessions(ctx, st.admin, true, rows)
	} else {
		err = benchdb.LoadItems(ctx, st.admin, true, rows, benchdb.AllLive)
	}
	return st.k, err
}

// freshMySQL is freshPostgres on a database of its own per implementation
// on the MySQL server of CACHE_TEST_MYSQL_DSN.
func freshMySQL(b *testing.B, impl string) (kv, error) {
	base := mysqlDSN(b)
	st, err := shared("my-"+impl, func() (*pgState, error) {
		ctx := context.Background()
		dsn, drop, err := benchdb.NewDatabase(ctx, base, "bench")
		if err != nil {
			return nil, err
		}
		atExit(func() { _ = drop() })
		admin, err := benchdb.OpenSQL(dsn)
		if err != nil {
			return nil, err
		}
		atExit(func() { _ = admin.Close() })
		st := &pgState{admin: admin, table: "cached_items"}
		if impl == "scs" {
			st.table = "sessions"
			if _, err := admin.Exec(benchdb.MySQLSessionsTable); err != nil {
				return nil, err
			}
		} else {
			g, err := benchdb.Open(dsn)
			if err != nil {
				return nil, err
			}
			err = cache.AutoMigrate(g)
			if sqlDB, _ := g.DB(); sqlDB != nil {
				_ = sqlDB.Close()
			}
			if err != nil {
				return nil, err
			}
		}
		keep := &keeper{}
		st.k, err = openKV(keep, impl, dsn, true)
		atExit(keep.run)
		return st, err
	})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if _, err := st.admin.Exec(`TRUNCATE TABLE ` + st.table); err != nil {
		return nil, err
	}
	if st.table == "sessions" {
		err = benchdb.LoadSessions(ctx, st.admin, false, rows)
	} else {
		err = benchdb.LoadItems(ctx, st.admin, false, rows, benchdb.AllLive)
	}
	return st.k, err
}

// keeper is a testing.TB stand-in whose cleanups run at process exit.
type keeper struct {
	testing.TB
	fns []func()
}

func (k *keeper) Cleanup(f func()) { k.fns = append(k.fns, f) }
func (k *keeper) run() {
	for i := len(k.fns) - 1; i >= 0; i-- {
		k.fns[i]()
	}
}

// redisServer starts redis-server on a free loopback port with persistence
// off, once per process; TestMain stops it.
func redisServer(b *testing.B) *redis.Client {
	b.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatalf("redis-server not found: CI must run the Redis benchmarks")
		}
		b.Skip("redis-server not found: install it (apt-get install redis-server) to run the Redis benchmarks")
	}
	c, err := shared("redis", func() (*redis.Client, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		_ = l.Close()
		cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", env.dir, "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		atExit(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, PoolSize: 8})
		atExit(func() { _ = c.Close() })
		ctx := context.Background()
		for deadline := time.Now().Add(10 * time.Second); ; {
			if err = c.Ping(ctx).Err(); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		return c, err
	})
	if err != nil {
		b.Fatalf("redis-server: %v", err)
	}
	return c
}

func freshRedis(b *testing.B) (kv, error) {
	c := redisServer(b)
	ctx := context.Background()
	if err := c.FlushAll(ctx).Err(); err != nil {
		return nil, err
	}
	p := c.Pipeline()
	for i := range rows {
		v, _ := jsonValue(i)
		var exp time.Duration
		if i%2 == 0 {
			exp = 24 * time.Hour
		}
		p.Set(ctx, benchdb.Key(i), v, exp)
		if i%1000 == 999 {
			if _, err := p.Exec(ctx); err != nil {
				return nil, err
			}
		}
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, err
	}
	return redisKV{c: c, ctx: ctx}, nil
}
