// Command load runs P processes × W goroutines for D seconds against one
// database and reports throughput, errors, latency and fairness per
// process:
//
//	go run ./cmd/load                                          # every backend × mix,incr,getorset × P=1,2,4,8, 5 s each
//	go run ./cmd/load -backends sqlite -procs 2 -duration 1s   # a quick check
//	go run ./cmd/load -backends mysql -procs 1,2 -duration 2s  # needs CACHE_TEST_MYSQL_DSN
//
// Workloads: "mix" is 90% Get and 10% Set over 10,000 keys, filled before
// the run; "incr" is Increment(1) on one key, whose final value must equal
// the number of Increments that succeeded; "getorset" is GetOrSet over
// 10,000 keys on an empty table (a cold start), where every call must get
// the value that ends up stored. Each process is this binary run again with
// -child; the parent prints one line per process on stderr and a Markdown
// table on stdout, then whether the targets hold (zero errors and exact
// counters; SQLite's -wal file under 64 MiB at the end of every run; the
// worst single wait under a quarter of the busy timeout at the largest P).
//
// Backends:
//   - sqlite: a file set up as README's Recommended settings say: per
//     process one pool for reads and one of a single connection, with
//     _busy_timeout=5, for writes, which runs a RESTART checkpoint every
//     100 ms (again every millisecond while busy) in place of SQLite's
//     automatic ones. -write-busy-timeout 10000 -checkpoint 0 measures
//     SQLite's own busy handler and checkpoints.
//   - postgres, postgres-unlogged (an UNLOGGED table), postgres-async
//     (synchronous_commit=off on the connections): a fresh schema on
//     CACHE_TEST_POSTGRES_DSN each; -pg-params adds parameters to all three.
//   - mysql: a fresh database on the server of CACHE_TEST_MYSQL_DSN,
//     opened as README's recommended DSN says (DefaultDatetimePrecision 6).
//   - redis: a redis-server on a free loopback port, for reference.
//
// PostgreSQL and MySQL get a pool per process of -pg-conns connections
// (default: one per goroutine), with as many kept idle. A backend whose DSN
// variable is unset, or Redis without redis-server, is skipped with a
// message; under CI=true that is an error.
//
// MySQL under hot Increment: every Increment is one INSERT … ON DUPLICATE
// KEY UPDATE that takes the row's lock, and one redo log write per commit
// (Innodb_log_writes ≈ Com_insert). On MariaDB 10.11 with
// innodb_flush_log_at_trx_commit=2 (scripts/mysql-test-db.sh: the log is
// written at each commit, flushed to disk once a second), 4 goroutines per
// process made 7.5k Increments/s at P = 1 and 5.2–5.7k/s at P = 4, where
// the 16 connections waited 19–20 s in all for the row's lock in the 3 s
// (Innodb_row_lock_time): more processes add waiting, not Increments. With
// innodb_flush_log_at_trx_commit=1 (each commit waits for its fsync) the
// same runs made 1.5k/s at P = 1 and 2.6–2.8k/s at P = 4, group commit
// sharing one log write among 1.8 (P = 1) to 2.7–4.6 (P = 4) commits.
// (3 s runs, two rounds, on a shared 2-core machine at load average 7.)
//
// A database is one more entry in the backends map: a setup that makes a
// fresh database from its own DSN variable, and openGorm with its
// dialector.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/bench/internal/benchdb"
)

const (
	keys     = 10000
	hotKey   = "load:hot"
	walLimit = 64 << 20
)

// config is what the parent passes to each child, as JSON.
type config struct {
	Backend      string        `json:"backend"`
	Workload     string        `json:"workload"`
	Target       string        `json:"target"` // DSN or Redis address
	Workers      int           `json:"workers"`
	Duration     time.Duration `json:"duration"`
	Start        time.Time     `json:"start"`
	SQLiteParams string        `json:"sqlite_params"`
	WriteConns   int           `json:"write_conns"`
	PGConns      int           `json:"pg_conns"`
	// SQLite: Checkpoint is the interval of RESTART checkpoints (0:
	// SQLite's automatic ones); WriteBusy the write pool's _busy_timeout.
	Checkpoint time.Duration `json:"checkpoint"`
	WriteBusy  int           `json:"write_busy"`
}

// result is what a child reports.
type result struct {
	PID       int           `json:"pid"`
	Ops       int64         `json:"ops"`
	Errors    int64         `json:"errors"`
	Busy      int64         `json:"busy"` // errors matching cache.ErrBusy
	Samples   []string      `json:"samples"`
	Incr      int64         `json:"incr"`     // successful increments
	Mismatch  int64         `json:"mismatch"` // GetOrSet results that are not the stored value
	P50       time.Duration `json:"p50"`
	P99       time.Duration `json:"p99"`
	Max       time.Duration `json:"max"`
	Elapsed   time.Duration `json:"elapsed"`
	Computes  int64         `json:"computes"`
	Processes int           `json:"-"`
}

// store is one database as a child uses it.
type store interface {
	get(key string) (bool, error)
	set(key string, v string) error
	incr(key string) (int64, error)
	getOrSet(key string, compute func() (string, error)) (string, error)
	read(key string) (string, bool, error) // the stored string, for checks
	close()
}

// backend makes fresh databases and opens them.
type backend struct {
	// setup makes an empty database for one run and returns its target
	// and a function that drops it.
	setup func(ctx context.Context, o *options) (target string, drop func(), err error)
	open  func(c config) (store, error)
	// wal returns the size of the -wal file (SQLite only).
	wal func(target string) int64
}

var backends = map[string]backend{
	"sqlite":            {setup: setupSQLite, open: openGorm, wal: walSize},
	"postgres":          {setup: setupPostgres(false, ""), open: openGorm},
	"postgres-unlogged": {setup: setupPostgres(true, ""), open: openGorm},
	// synchronous_commit=off as a connection parameter: README's counters pool.
	"postgres-async": {setup: setupPostgres(false, "synchronous_commit=off"), open: openGorm},
	"mysql":          {setup: setupMySQL, open: openGorm},
	"redis":          {setup: setupRedis, open: openRedis},
}

// serverEnv names the DSN variable a server backend needs.
func serverEnv(name string) string {
	switch {
	case strings.HasPrefix(name, "postgres"):
		return benchdb.PostgresEnv
	case name == "mysql":
		return benchdb.MySQLEnv
	}
	return ""
}

type options struct {
	dir          string
	sqliteParams string
	pgParams     string
	checkpoint   time.Duration
	writeBusy    int
	redis        *redisServer
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, "load child:", err)
			os.Exit(1)
		}
		return
	}
	var (
		backendList  = flag.String("backends", "sqlite,postgres,postgres-unlogged,postgres-async,mysql,redis", "comma-separated: "+strings.Join(slices.Sorted(mapsKeys(backends)), ", "))
		workloadList = flag.String("workloads", "mix,incr,getorset", "comma-separated: mix, incr, getorset")
		procList     = flag.String("procs", "1,2,4,8", "comma-separated process counts")
		workers      = flag.Int("workers", 4, "goroutines per process")
		duration     = flag.Duration("duration", 5*time.Second, "length of each run")
		sqliteParams = flag.String("sqlite-params", benchdb.SQLiteParams, "SQLite DSN parameters")
		writeConns   = flag.Int("write-conns", 1, "SQLite: connections of each process's write pool")
		writeBusy    = flag.Int("write-busy-timeout", 5, "SQLite: _busy_timeout (ms) of the write pool, which replaces the one of -sqlite-params")
		pgConns      = flag.Int("pg-conns", 0, "server databases: pool size per process (0: one per goroutine)")
		pgParams     = flag.String("pg-params", "", "PostgreSQL: extra DSN parameters, such as synchronous_commit=off")
		checkpoint   = flag.Duration("checkpoint", 100*time.Millisecond, "SQLite: turn off automatic checkpoints on the write pool and run PRAGMA wal_checkpoint(RESTART) this often in each process (0: SQLite's automatic checkpoints)")
	)
	flag.Parse()
	if err := run(*backendList, *workloadList, *procList, *workers, *duration, *writeConns, *pgConns,
		&options{sqliteParams: *sqliteParams, pgParams: *pgParams, checkpoint: *checkpoint, writeBusy: *writeBusy}); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func mapsKeys(m map[string]backend) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

type row struct {
	backend, workload string
	procs             int
	res               []result
	opsPerSec         float64
	errors            int64
	exact             string
	wal               int64 // -1: not SQLite
	walMax            int64
}

func run(backendList, workloadList, procList string, workers int, d time.Duration, writeConns, pgConns int, o *options) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gormcache-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	o.dir = dir
	var procs []int
	for _, s := range strings.Split(procList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -procs %q", procList)
		}
		procs = append(procs, n)
	}
	busy := busyTimeout(o.sqliteParams)
	var rows []row
	for _, name := range strings.Split(backendList, ",") {
		b, ok := backends[name]
		if !ok {
			return fmt.Errorf("unknown backend %q", name)
		}
		if env := serverEnv(name); env != "" && os.Getenv(env) == "" {
			if err := skip(name, "set "+env); err != nil {
				return err
			}
			continue
		}
		if name == "redis" {
			srv, err := startRedis(dir)
			if err != nil {
				if err := skip(name, err.Error()); err != nil {
					return err
				}
				continue
			}
			defer srv.stop()
			o.redis = srv
		}
		for _, w := range strings.Split(workloadList, ",") {
			for _, p := range procs {
				r, err := runOne(ctx, name, b, w, p, workers, d, writeConns, pgConns, o)
				if err != nil {
					return fmt.Errorf("%s %s P=%d: %w", name, w, p, err)
				}
				rows = append(rows, r)
			}
		}
	}
	ckpt := "SQLite's automatic checkpoints"
	if o.checkpoint > 0 {
		ckpt = fmt.Sprintf("a RESTART checkpoint every %v in each process, tried again every millisecond while busy", o.checkpoint)
	}
	pool := "one connection per goroutine"
	if pgConns > 0 {
		pool = fmt.Sprintf("%d connection(s)", pgConns)
	}
	setup := fmt.Sprintf("SQLite: %s for reads; a write pool of %d connection(s) with _busy_timeout=%d and %s. "+
		"PostgreSQL and MySQL: a pool of %s per process, all kept idle.",
		o.sqliteParams, writeConns, o.writeBusy, ckpt, pool)
	printTable(os.Stdout, rows, workers, d, busy, setup)
	return nil
}

// skip reports a backend that cannot run; under CI=true, where every
// backend must run, it is an error.
func skip(name, why string) error {
	if os.Getenv("CI") == "true" {
		return fmt.Errorf("%s: %s (CI must run every backend)", name, why)
	}
	fmt.Fprintf(os.Stderr, "load: skipping %s: %s\n", name, why)
	return nil
}

func runOne(ctx context.Context, name string, b backend, workload string, p, workers int, d time.Duration,
	writeConns, pgConns int, o *options) (row, error) {
	target, drop, err := b.setup(ctx, o)
	if err != nil {
		return row{}, err
	}
	defer drop()
	// The parent keeps a connection open, so that the last child to close
	// does not checkpoint and delete the -wal file before it is measured.
	var st store
	c := config{Backend: name, Workload: workload, Target: target, Workers: workers, Duration: d,
		SQLiteParams: o.sqliteParams, WriteConns: writeConns, PGConns: pgConns, Checkpoint: o.checkpoint, WriteBusy: o.writeBusy}
	if st, err = b.open(c); err != nil {
		return row{}, err
	}
	defer st.close()
	if workload == "mix" {
		if err := fill(st); err != nil {
			return row{}, fmt.Errorf("fill: %w", err)
		}
	}
	var walMax atomic.Int64
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() { // the -wal file's largest size during the run
		defer close(watched)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if b.wal != nil {
				walMax.Store(max(walMax.Load(), b.wal(target)))
			}
			select {
			case <-stopWatch:
				return
			case <-t.C:
			}
		}
	}()
	c.Start = time.Now().Add(time.Second + time.Duration(p)*100*time.Millisecond)
	cfg, _ := json.Marshal(c)
	type proc struct {
		cmd *exec.Cmd
		out strings.Builder
		err strings.Builder
	}
	ps := make([]*proc, p)
	for i := range ps {
		pr := &proc{cmd: exec.CommandContext(ctx, os.Args[0], "-child", string(cfg))}
		pr.cmd.Stdout, pr.cmd.Stderr = &pr.out, &pr.err
		if err := pr.cmd.Start(); err != nil {
			return row{}, err
		}
		ps[i] = pr
	}
	r := row{backend: name, workload: workload, procs: p, wal: -1}
	for _, pr := range ps {
		if err := pr.cmd.Wait(); err != nil {
			return row{}, fmt.Errorf("child: %w\n%s", err, pr.err.String())
		}
		var res result
		if err := json.Unmarshal([]byte(strings.TrimSpace(pr.out.String())), &res); err != nil {
			return row{}, fmt.Errorf("child output %q: %w", pr.out.String(), err)
		}
		r.res = append(r.res, res)
	}
	close(stopWatch)
	<-watched
	var incr int64
	for _, res := range r.res {
		r.opsPerSec += float64(res.Ops) / res.Elapsed.Seconds()
		r.errors += res.Errors + res.Mismatch
		incr += res.Incr
	}
	switch workload {
	case "incr":
		got, _, err := st.read(hotKey)
		if err != nil {
			return row{}, err
		}
		if got == strconv.FormatInt(incr, 10) {
			r.exact = "yes"
		} else {
			r.exact = fmt.Sprintf("NO: %s, want %d", got, incr)
		}
	case "getorset":
		var m int64
		for _, res := range r.res {
			m += res.Mismatch
		}
		r.exact = "yes"
		if m > 0 {
			r.exact = fmt.Sprintf("NO: %d calls got another value than the stored one", m)
		}
	default:
		r.exact = "-"
	}
	if b.wal != nil {
		r.wal = b.wal(target)
		r.walMax = max(walMax.Load(), r.wal)
	}
	for i, res := range r.res {
		fmt.Fprintf(os.Stderr, "%-17s %-8s P=%d proc %d: %8.0f ops/s  errors %d (busy %d)  p50 %v  p99 %v  max %v\n",
			name, workload, p, i, float64(res.Ops)/res.Elapsed.Seconds(), res.Errors+res.Mismatch, res.Busy,
			res.P50, res.P99, res.Max)
		for _, s := range res.Samples {
			fmt.Fprintf(os.Stderr, "    error: %s\n", s)
		}
	}
	return r, nil
}

func fill(st store) error {
	for i := range keys {
		if err := st.set(benchdb.Key(i), "v"+strconv.Itoa(i)); err != nil {
			return err
		}
	}
	return nil
}

// printTable writes the Markdown table and the targets.
func printTable(w io.Writer, rows []row, workers int, d time.Duration, busy time.Duration, setup string) {
	fmt.Fprintf(w, "P processes × %d goroutines for %v each; latency is of single calls; "+
		"share is each process's ops as a multiple of the fair share (slowest–fastest). %s\n\n", workers, d, setup)
	fmt.Fprintln(w, "| backend | workload | P | ops/s | errors | exact | p50 | p99 (worst process) | max | share | WAL end (max) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	maxP := 0
	for _, r := range rows {
		maxP = max(maxP, r.procs)
	}
	var errRuns, inexact []string
	var walOver []string
	var worstWait time.Duration
	worstAt := ""
	for _, r := range rows {
		var p50s []time.Duration
		var p99, mx time.Duration
		var total float64
		lo, hi := math.Inf(1), 0.0
		for _, res := range r.res {
			p50s = append(p50s, res.P50)
			p99, mx = max(p99, res.P99), max(mx, res.Max)
			total += float64(res.Ops)
		}
		for _, res := range r.res {
			share := float64(res.Ops) / (total / float64(len(r.res)))
			lo, hi = min(lo, share), max(hi, share)
		}
		slices.Sort(p50s)
		wal := "-"
		if r.wal >= 0 {
			wal = fmt.Sprintf("%s (%s)", mib(r.wal), mib(r.walMax))
			if r.walMax >= walLimit {
				walOver = append(walOver, fmt.Sprintf("%s %s P=%d", r.backend, r.workload, r.procs))
			}
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.0f | %d | %s | %v | %v | %v | %.2f–%.2f× | %s |\n",
			r.backend, r.workload, r.procs, r.opsPerSec, r.errors, r.exact, round(p50s[len(p50s)/2]), round(p99), round(mx),
			lo, hi, wal)
		if r.errors > 0 {
			errRuns = append(errRuns, fmt.Sprintf("%s %s P=%d (%d)", r.backend, r.workload, r.procs, r.errors))
		}
		if r.exact != "yes" && r.exact != "-" {
			inexact = append(inexact, fmt.Sprintf("%s %s P=%d", r.backend, r.workload, r.procs))
		}
		if r.backend == "sqlite" && r.procs == maxP && mx > worstWait {
			worstWait, worstAt = mx, r.workload
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets:")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- zero errors and exact counters at every P: %s\n", verdict(len(errRuns)+len(inexact) == 0,
		"errors in "+strings.Join(errRuns, ", ")+"; inexact: "+strings.Join(inexact, ", ")))
	fmt.Fprintf(w, "- SQLite -wal file under %s during and at the end of every run: %s\n", mib(walLimit),
		verdict(len(walOver) == 0, "over in "+strings.Join(walOver, ", ")))
	if worstAt != "" {
		fmt.Fprintf(w, "- worst single SQLite wait at P = %d under a quarter of the busy timeout (%v): %s (%v, %s)\n",
			maxP, busy/4, verdict(worstWait < busy/4, "missed"), round(worstWait), worstAt)
	}
}

func verdict(ok bool, why string) string {
	if ok {
		return "met"
	}
	return "MISSED: " + why
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// withBusyTimeout sets _busy_timeout in a SQLite DSN.
func withBusyTimeout(dsn string, ms int) string {
	base, query, _ := strings.Cut(dsn, "?")
	var kept []string
	for _, kv := range strings.Split(query, "&") {
		if kv != "" && !strings.HasPrefix(kv, "_busy_timeout=") {
			kept = append(kept, kv)
		}
	}
	return base + "?" + strings.Join(append(kept, fmt.Sprintf("_busy_timeout=%d", ms)), "&")
}

// busyTimeout reads _busy_timeout (milliseconds) from SQLite DSN
// parameters; mattn/go-sqlite3 defaults to 5 s.
func busyTimeout(params string) time.Duration {
	for _, kv := range strings.Split(params, "&") {
		if v, ok := strings.CutPrefix(kv, "_busy_timeout="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return time.Duration(n) * time.Millisecond
			}
		}
	}
	return 5 * time.Second
}

// child runs one process's workers and prints its result as JSON.
func child() error {
	var c config
	if len(os.Args) < 3 {
		return errors.New("missing config")
	}
	if err := json.Unmarshal([]byte(os.Args[2]), &c); err != nil {
		return err
	}
	b := backends[c.Backend]
	st, err := b.open(c)
	if err != nil {
		return err
	}
	defer st.close()
	if gs, ok := st.(gormStore); ok && c.Backend == "sqlite" && c.Checkpoint > 0 {
		stop, err := checkpoints(gs.writes, c.Checkpoint)
		if err != nil {
			return err
		}
		defer stop()
	}
	var (
		res      = result{PID: os.Getpid()}
		mu       sync.Mutex
		lats     []time.Duration
		ops      atomic.Int64
		errs     atomic.Int64
		busy     atomic.Int64
		incr     atomic.Int64
		computes atomic.Int64
		got      sync.Map // getorset: key -> the value this process got first
	)
	mismatch := atomic.Int64{}
	fail := func(err error) {
		errs.Add(1)
		if errors.Is(err, cache.ErrBusy) {
			busy.Add(1)
		}
		mu.Lock()
		if len(res.Samples) < 3 {
			res.Samples = append(res.Samples, err.Error())
		}
		mu.Unlock()
	}
	time.Sleep(time.Until(c.Start))
	end := c.Start.Add(c.Duration)
	var wg sync.WaitGroup
	for range c.Workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			mine := make([]time.Duration, 0, 1<<16)
			for {
				began := time.Now()
				if !began.Before(end) {
					break
				}
				var err error
				switch c.Workload {
				case "mix":
					k := benchdb.Key(rng.IntN(keys))
					if rng.IntN(10) == 0 {
						err = st.set(k, "w"+strconv.Itoa(rng.IntN(1000)))
					} else {
						_, err = st.get(k)
					}
				case "incr":
					if _, err = st.incr(hotKey); err == nil {
						incr.Add(1)
					}
				case "getorset":
					k := benchdb.Key(rng.IntN(keys))
					var v string
					v, err = st.getOrSet(k, func() (string, error) {
						computes.Add(1)
						return fmt.Sprintf("%s by %d", k, os.Getpid()), nil
					})
					if err == nil {
						if first, loaded := got.LoadOrStore(k, v); loaded && first != v {
							mismatch.Add(1)
						}
					}
				default:
					err = fmt.Errorf("unknown workload %q", c.Workload)
				}
				mine = append(mine, time.Since(began))
				ops.Add(1)
				if err != nil {
					fail(err)
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(c.Start)
	if c.Workload == "getorset" { // every value this process got is the stored one
		got.Range(func(k, v any) bool {
			stored, ok, err := st.read(k.(string))
			if err != nil || !ok || stored != v.(string) {
				mismatch.Add(1)
			}
			return true
		})
	}
	slices.Sort(lats)
	if n := len(lats); n > 0 {
		res.P50, res.P99, res.Max = lats[n/2], lats[n*99/100], lats[n-1]
	}
	res.Ops, res.Errors, res.Busy, res.Incr = ops.Load(), errs.Load(), busy.Load(), incr.Load()
	res.Mismatch, res.Computes = mismatch.Load(), computes.Load()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	return json.NewEncoder(out).Encode(res)
}

// --- SQLite, PostgreSQL and MySQL through gormcache

type gormStore struct {
	reads, writes *gorm.DB
}

func openGorm(c config) (store, error) {
	if c.Backend == "sqlite" {
		dsn := "file:" + c.Target + "?" + c.SQLiteParams
		reads, err := gorm.Open(sqlite.Open(dsn), benchdb.GormConfig())
		if err != nil {
			return nil, err
		}
		writes, err := gorm.Open(sqlite.Open(withBusyTimeout(dsn, c.WriteBusy)), benchdb.GormConfig())
		if err != nil {
			return nil, err
		}
		r, _ := reads.DB()
		r.SetMaxOpenConns(c.Workers)
		r.SetMaxIdleConns(c.Workers)
		w, _ := writes.DB()
		w.SetMaxOpenConns(max(c.WriteConns, 1))
		w.SetMaxIdleConns(max(c.WriteConns, 1))
		return gormStore{reads: reads, writes: writes}, nil
	}
	var db *gorm.DB
	var err error
	switch {
	case strings.HasPrefix(c.Backend, "postgres"):
		db, err = gorm.Open(postgres.Open(c.Target), benchdb.GormConfig())
	case c.Backend == "mysql": // README's recommended DSN and DefaultDatetimePrecision
		db, err = benchdb.Open(c.Target)
	default:
		return nil, fmt.Errorf("no GORM dialector for backend %q", c.Backend)
	}
	if err != nil {
		return nil, err
	}
	// README's pool advice for PostgreSQL holds for MySQL too: as many idle
	// connections as open ones, so that no connection (and with it the
	// statements prepared on it) is closed and reopened under load.
	n := c.PGConns
	if n <= 0 {
		n = c.Workers
	}
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	return gormStore{reads: db, writes: db}, nil
}

func (s gormStore) get(key string) (bool, error) {
	var v string
	return cache.Cached(s.reads, key).Get(&v)
}

func (s gormStore) set(key, v string) error {
	return cache.Cached(s.writes, key).Set(v, cache.In(time.Hour))
}

func (s gormStore) incr(key string) (int64, error) {
	return cache.Cached(s.writes, key).Increment(1)
}

func (s gormStore) getOrSet(key string, compute func() (string, error)) (string, error) {
	return cache.GetOrSet(s.writes, key, compute, cache.In(time.Hour))
}

func (s gormStore) read(key string) (string, bool, error) {
	if key == hotKey {
		n, ok, err := cache.Get[int64](s.reads, key)
		return strconv.FormatInt(n, 10), ok, err
	}
	return cache.Get[string](s.reads, key)
}

func (s gormStore) close() {
	for _, db := range []*gorm.DB{s.reads, s.writes} {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
}

var runs atomic.Int64

func setupSQLite(_ context.Context, o *options) (string, func(), error) {
	path := filepath.Join(o.dir, fmt.Sprintf("load-%d.db", runs.Add(1)))
	db, err := gorm.Open(sqlite.Open("file:"+path+"?"+o.sqliteParams), benchdb.GormConfig())
	if err != nil {
		return "", nil, err
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}()
	if err := cache.AutoMigrate(db); err != nil {
		return "", nil, err
	}
	return path, func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(path + suffix)
		}
	}, nil
}

func walSize(path string) int64 {
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

func setupPostgres(unlogged bool, params string) func(ctx context.Context, o *options) (string, func(), error) {
	return func(ctx context.Context, o *options) (string, func(), error) {
		dsn, drop, err := benchdb.NewSchema(ctx, os.Getenv(benchdb.PostgresEnv), "gormcache_load")
		if err != nil {
			return "", nil, err
		}
		var opts []cache.MigrateOption
		if unlogged {
			opts = append(opts, cache.Unlogged())
		}
		if err := migrate(opts...)(gorm.Open(postgres.Open(dsn), benchdb.GormConfig())); err != nil {
			_ = drop()
			return "", nil, err
		}
		for _, p := range []string{params, o.pgParams} {
			if p != "" {
				dsn += "&" + p
			}
		}
		return dsn, func() { _ = drop() }, nil
	}
}

// setupMySQL makes a database of its own on the server of
// CACHE_TEST_MYSQL_DSN, so the run collides with no other benchmark or test.
func setupMySQL(ctx context.Context, _ *options) (string, func(), error) {
	dsn, drop, err := benchdb.NewDatabase(ctx, os.Getenv(benchdb.MySQLEnv), "load")
	if err != nil {
		return "", nil, err
	}
	if err := migrate()(benchdb.Open(dsn)); err != nil {
		_ = drop()
		return "", nil, err
	}
	return dsn, func() { _ = drop() }, nil
}

// migrate returns a function that creates the cache table with opts
// through db, just opened (or err), and closes db.
func migrate(opts ...cache.MigrateOption) func(db *gorm.DB, err error) error {
	return func(db *gorm.DB, err error) error {
		if err != nil {
			return err
		}
		if sqlDB, err := db.DB(); err == nil {
			defer sqlDB.Close()
		}
		return cache.AutoMigrate(db, opts...)
	}
}

// --- Redis, for reference

type redisServer struct {
	addr string
	cmd  *exec.Cmd
}

func (s *redisServer) stop() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() }

// startRedis starts redis-server on a free loopback port with persistence
// off, as the benchmarks do.
func startRedis(dir string) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found (apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &redisServer{addr: "127.0.0.1:" + port, cmd: cmd}
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err = c.Ping(context.Background()).Err(); err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, err
		}
	}
}

func setupRedis(ctx context.Context, o *options) (string, func(), error) {
	c := redis.NewClient(&redis.Options{Addr: o.redis.addr})
	defer c.Close()
	return o.redis.addr, func() {}, c.FlushAll(ctx).Err()
}

type redisStore struct {
	c   *redis.Client
	ctx context.Context
}

func openRedis(c config) (store, error) {
	return redisStore{c: redis.NewClient(&redis.Options{Addr: c.Target, PoolSize: c.Workers}), ctx: context.Background()}, nil
}

func (s redisStore) get(key string) (bool, error) {
	_, err := s.c.Get(s.ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}

func (s redisStore) set(key, v string) error { return s.c.Set(s.ctx, key, v, time.Hour).Err() }

func (s redisStore) incr(key string) (int64, error) { return s.c.IncrBy(s.ctx, key, 1).Result() }

// getOrSet is the usual Redis idiom: GET, and on a miss compute and SET NX,
// then GET again if another client stored first.
func (s redisStore) getOrSet(key string, compute func() (string, error)) (string, error) {
	v, err := s.c.Get(s.ctx, key).Result()
	if err == nil || !errors.Is(err, redis.Nil) {
		return v, err
	}
	if v, err = compute(); err != nil {
		return "", err
	}
	ok, err := s.c.SetNX(s.ctx, key, v, time.Hour).Result()
	if err != nil || ok {
		return v, err
	}
	return s.c.Get(s.ctx, key).Result()
}

func (s redisStore) read(key string) (string, bool, error) {
	v, err := s.c.Get(s.ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (s redisStore) close() { _ = s.c.Close() }

// restart runs a RESTART checkpoint, and again every millisecond for up to
// d while it reports that it could not finish (busy: another process held
// the write lock throughout the write pool's short busy timeout, or a
// reader the WAL). Polling as gormcache's writers do gives it the same
// turns as them; without, at 30,000 Increments a second from 8 processes
// most checkpoints gave up and the -wal file reached 98 MiB.
func restart(writes *gorm.DB, d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		var busy, logged, done int
		err := writes.Raw("PRAGMA wal_checkpoint(RESTART)").Row().Scan(&busy, &logged, &done)
		if err == nil && busy == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// checkpoints turns off SQLite's automatic checkpoints on the write pool's
// one connection and runs a RESTART checkpoint every interval instead. A
// RESTART checkpoint takes the write lock, so it finishes even while other
// processes write, and the next write starts the WAL over; automatic
// (PASSIVE) checkpoints of several processes keep each other from
// finishing.
func checkpoints(writes *gorm.DB, every time.Duration) (stop func(), err error) {
	if err := writes.Exec("PRAGMA wal_autocheckpoint = 0").Error; err != nil {
		return nil, err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				restart(writes, every/2)
			}
		}
	})
	return func() { close(done); wg.Wait() }, nil
}
