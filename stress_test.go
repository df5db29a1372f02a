package cache_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
	"github.com/gormcache/cache/internal/dialect"
)

// errorLog collects the errors of worker goroutines, which must not call
// t.FailNow.
type errorLog struct {
	mu   sync.Mutex
	errs []string
	n    int
}

func (l *errorLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if len(l.errs) < 10 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
}

func (l *errorLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		t.Fatalf("%d failures, first ones:\n%s", l.n, strings.Join(l.errs, "\n"))
	}
}

// isBusy reports SQLite's lock errors, which the recommended DSN must
// prevent.
func isBusy(err error) bool {
	s := err.Error()
	return strings.Contains(s, "database is locked") || strings.Contains(s, "SQLITE_BUSY") ||
		strings.Contains(s, "database table is locked")
}

// TestStressMixedOps runs 16 goroutines × 200 mixed operations on a shared
// key space. Counters end at exactly the number of increments (and every
// increment returns a distinct count), every value read or left behind is
// one that some goroutine wrote, and no call fails, with SQLITE_BUSY or
// otherwise.
func TestStressMixedOps(t *testing.T) {
	const (
		workers   = 16
		opsEach   = 200
		valueKeys = 8
		counters  = 4
	)
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.DB
			var written sync.Map // every value some goroutine wrote (or is writing)
			var increments [counters]atomic.Int64
			results := make([][]int64, counters)
			var resultsMu sync.Mutex
			var fails errorLog
			check := func(op string, err error) bool {
				if err == nil {
					return true
				}
				if isBusy(err) {
					fails.add("%s: SQLITE_BUSY: %v", op, err)
				} else {
					fails.add("%s: %v", op, err)
				}
				return false
			}
			checkValue := func(op, v string) {
				if _, ok := written.Load(v); !ok {
					fails.add("%s read %q, which nobody wrote", op, v)
				}
			}

			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 7))
					for i := range opsEach {
						vk := fmt.Sprintf("stress:v%d", rng.IntN(valueKeys))
						e := cache.Cached(db, vk)
						val := fmt.Sprintf("w%d-op%d", w, i)
						switch op := rng.IntN(8); op {
						case 0, 1:
							written.Store(val, true)
							var exp []cache.Expiration
							if rng.IntN(2) == 0 {
								exp = append(exp, cache.In(time.Hour))
							}
							check("set", e.Set(val, exp...))
						case 2:
							written.Store(val, true)
							_, err := e.Add(val, cache.In(time.Hour))
							check("add", err)
						case 3:
							var got string
							ok, err := e.Get(&got)
							if check("get", err) && ok {
								checkValue("get", got)
							}
						case 4:
							_, err := e.Delete()
							check("delete", err)
						case 5:
							_, err := e.Touch(cache.In(time.Duration(1+rng.IntN(60)) * time.Minute))
							check("touch", err)
						default:
							c := rng.IntN(counters)
							n, err := cache.Cached(db, fmt.Sprintf("stress:c%d", c)).Increment(1, cache.In(time.Hour))
							if check("increment", err) {
								increments[c].Add(1)
								resultsMu.Lock()
								results[c] = append(results[c], n)
								resultsMu.Unlock()
							}
						}
					}
				})
			}
			wg.Wait()
			fails.check(t)

			var total int64
			for c := range counters {
				want := increments[c].Load()
				total += want
				got, ok, err := cache.Get[int64](db, fmt.Sprintf("stress:c%d", c))
				require.NoError(t, err)
				if want == 0 {
					require.False(t, ok)
					continue
				}
				require.True(t, ok)
				require.Equal(t, want, got, "counter %d", c)
				// Atomic increments hand out 1..n, each once.
				slices.Sort(results[c])
				for i, n := range results[c] {
					require.EqualValues(t, i+1, n, "counter %d: increment results %v", c, results[c])
				}
			}
			require.Positive(t, total)
			for k := range valueKeys {
				var got string
				ok, err := cache.Cached(db, fmt.Sprintf("stress:v%d", k)).Get(&got)
				require.NoError(t, err)
				if ok {
					checkValue("final get", got)
				}
			}
			fails.check(t)
			t.Logf("%d increments over %d counters", total, counters)
		})
	}
}

// Environment of a child process of TestStressProcesses.
const (
	childEnv      = "GORMCACHE_STRESS_CHILD"
	childDSNEnv   = "GORMCACHE_STRESS_DSN"
	childStartEnv = "GORMCACHE_STRESS_START"
)

const (
	procs          = 4
	procIncrements = 100
)

// TestStressProcesses re-runs the test binary as 4 processes that share one
// database: they all call GetOrSet on one missing key at the same moment,
// with a slow compute, and then increment one counter 100 times each. The
// counter ends at exactly 400, and every process gets the one value that is
// stored.
func TestStressProcesses(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		stressChild(t)
		return
	}
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			start := time.Now().Add(2 * time.Second)
			type child struct {
				cmd *exec.Cmd
				out strings.Builder
			}
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			children := make([]*child, procs)
			for i := range children {
				c := &child{cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^TestStressProcesses$", "-test.count=1")}
				c.cmd.Env = append(os.Environ(),
					childEnv+"="+b.Name, childDSNEnv+"="+b.DSN,
					childStartEnv+"="+strconv.FormatInt(start.UnixNano(), 10))
				c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
				require.NoError(t, c.cmd.Start())
				children[i] = c
			}
			var values []string
			for _, c := range children {
				err := c.cmd.Wait()
				require.NoError(t, err, "child output:\n%s", c.out.String())
				var got string
				sc := bufio.NewScanner(strings.NewReader(c.out.String()))
				for sc.Scan() {
					if v, ok := strings.CutPrefix(sc.Text(), "GETORSET "); ok {
						got = v
					}
				}
				require.NotEmpty(t, got, "child output:\n%s", c.out.String())
				values = append(values, got)
			}
			n, ok, err := cache.Get[int64](b.DB, "procs:counter")
			require.NoError(t, err)
			require.True(t, ok)
			require.EqualValues(t, procs*procIncrements, n)
			stored, ok, err := cache.Get[string](b.DB, "procs:once")
			require.NoError(t, err)
			require.True(t, ok)
			for i, v := range values {
				require.Equal(t, stored, v, "process %d got another value than the stored one (all: %v)", i, values)
			}
		})
	}
}

// stressChild is the body of one child process.
func stressChild(t *testing.T) {
	dial := cachetest.Dialector(os.Getenv(childEnv), os.Getenv(childDSNEnv))
	require.NotNil(t, dial, "unknown backend %q", os.Getenv(childEnv))
	db, err := gorm.Open(dial, cachetest.Config())
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	defer sqlDB.Close()
	startNanos, err := strconv.ParseInt(os.Getenv(childStartEnv), 10, 64)
	require.NoError(t, err)
	time.Sleep(time.Until(time.Unix(0, startNanos)))

	mine := fmt.Sprintf("computed by process %d", os.Getpid())
	v, err := cache.GetOrSet(db, "procs:once", func() (string, error) {
		time.Sleep(300 * time.Millisecond) // every process misses before any stores
		return mine, nil
	}, cache.In(time.Hour))
	require.NoError(t, err)
	for range procIncrements {
		_, err := cache.Cached(db, "procs:counter").Increment(1)
		require.NoError(t, err)
	}
	fmt.Printf("GETORSET %s\n", v)
}

// batchLogger records the duration and row count of each ClearExpired
// batch, as the package reports its statements to GORM's logger.
type batchLogger struct {
	logger.Interface
	mu      sync.Mutex
	batches int
	rows    int64
	longest time.Duration
	maxRows int64
}

func (l *batchLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l *batchLogger) Trace(_ context.Context, begin time.Time, fc func() (string, int64), _ error) {
	sql, rows := fc()
	if !strings.Contains(sql, "DELETE FROM") || !strings.Contains(sql, "expires_at") {
		return
	}
	d := time.Since(begin)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches++
	l.rows += rows
	l.longest = max(l.longest, d)
	l.maxRows = max(l.maxRows, rows)
}

// TestStressClearExpired runs ClearExpired in a loop while writers store
// entries (some already expired, some live, some flipping from expired to
// live) and readers read short-lived ones. No live entry is ever deleted, no
// reader sees a value past its expiry, and each ClearExpired batch deletes
// at most one batch of rows (1000 on SQLite, 10,000 on PostgreSQL); the
// longest batch is reported in the log.
func TestStressClearExpired(t *testing.T) {
	const (
		backlog  = 5000
		writers  = 3
		rounds   = 60
		readers  = 2
		liveKeys = 10
	)
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.DB
			old := make(map[string]any, backlog)
			for i := range backlog {
				old[fmt.Sprintf("old:%d", i)] = i
			}
			require.NoError(t, cache.SetMany(db, old, cache.In(-time.Minute)))
			for i := range liveKeys {
				require.NoError(t, cache.Cached(db, fmt.Sprintf("live:%d", i)).Set(i, cache.In(time.Hour)))
				require.NoError(t, cache.Cached(db, fmt.Sprintf("forever:%d", i)).Set(i))
			}

			lg := &batchLogger{Interface: logger.Discard}
			cleanerDB := db.Session(&gorm.Session{Logger: lg})
			var fails errorLog
			var deleted atomic.Int64
			stop := make(chan struct{})
			var cleaner sync.WaitGroup
			cleaner.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					n, err := cache.ClearExpired(cleanerDB)
					if err != nil {
						fails.add("clear expired: %v", err)
						return
					}
					deleted.Add(n)
				}
			})

			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for r := range rounds {
						// More expired rows, so the cleaner keeps working.
						batch := make(map[string]any, 100)
						for i := range 100 {
							batch[fmt.Sprintf("dead:%d:%d:%d", w, r, i)] = i
						}
						if err := cache.SetMany(db, batch, cache.In(-time.Second)); err != nil {
							fails.add("set many: %v", err)
							return
						}
						// An expired entry turned live again under the same
						// row must survive a batch that picked it as expired.
						flip := cache.Cached(db, fmt.Sprintf("flip:%d:%d", w, r%5))
						if err := flip.Set("dead", cache.In(-time.Second)); err != nil {
							fails.add("flip set expired: %v", err)
							return
						}
						if err := flip.Set("alive", cache.In(time.Hour)); err != nil {
							fails.add("flip set live: %v", err)
							return
						}
						var got string
						if ok, err := flip.Get(&got); err != nil || !ok || got != "alive" {
							fails.add("flip %s: a live entry was deleted: ok=%v %q err=%v", flip.Key(), ok, got, err)
						}
						// A short-lived entry whose value is its expiry.
						at := time.Now().Add(time.Duration(r%20) * time.Millisecond).Truncate(time.Microsecond)
						short := cache.Cached(db, fmt.Sprintf("short:%d", r%7))
						if err := short.Set(at.UnixNano(), cache.At(at)); err != nil {
							fails.add("short set: %v", err)
							return
						}
						live := cache.Cached(db, fmt.Sprintf("live:%d", r%liveKeys))
						if err := live.Set(r, cache.In(time.Hour)); err != nil {
							fails.add("live set: %v", err)
							return
						}
					}
				})
			}
			readerStop := make(chan struct{})
			var rwg sync.WaitGroup
			var reads, hits atomic.Int64
			for r := range readers {
				rwg.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-readerStop:
							return
						default:
						}
						before := time.Now()
						var at int64
						ok, err := cache.Cached(db, fmt.Sprintf("short:%d", (i+r)%7)).Get(&at)
						reads.Add(1)
						if err != nil {
							fails.add("short get: %v", err)
							return
						}
						if ok {
							hits.Add(1)
							if at < before.UnixNano() {
								fails.add("read a value that expired %v before the read began", before.Sub(time.Unix(0, at)))
							}
						}
						for _, k := range []string{fmt.Sprintf("live:%d", i%liveKeys), fmt.Sprintf("forever:%d", i%liveKeys)} {
							if ok, err := cache.Cached(db, k).Exists(); err != nil || !ok {
								fails.add("%s: a live entry was deleted: ok=%v err=%v", k, ok, err)
							}
						}
					}
				})
			}
			wg.Wait()
			close(readerStop)
			rwg.Wait()
			close(stop)
			cleaner.Wait()
			fails.check(t)

			// Sweep what is left, then count. The short entries expire up to
			// 19 ms after their last write: let them all expire first, or the
			// count below finds the ones that expired after the sweep.
			time.Sleep(20 * time.Millisecond)
			n, err := cache.ClearExpired(cleanerDB)
			require.NoError(t, err)
			deleted.Add(n)
			st, err := cache.Stats(db)
			require.NoError(t, err)
			require.Zero(t, st.Expired)
			for i := range liveKeys {
				for _, k := range []string{fmt.Sprintf("live:%d", i), fmt.Sprintf("forever:%d", i)} {
					ok, err := cache.Cached(db, k).Exists()
					require.NoError(t, err)
					require.True(t, ok, k)
				}
			}
			for w := range writers {
				for i := range 5 {
					var got string
					ok, err := cache.Cached(db, fmt.Sprintf("flip:%d:%d", w, i)).Get(&got)
					require.NoError(t, err)
					require.True(t, ok)
					require.Equal(t, "alive", got)
				}
			}
			lg.mu.Lock()
			defer lg.mu.Unlock()
			require.GreaterOrEqual(t, deleted.Load(), int64(backlog+writers*rounds*100))
			require.Equal(t, deleted.Load(), lg.rows, "the logger saw every batch")
			d, err := dialect.For(b.DB.Dialector.Name())
			require.NoError(t, err)
			require.LessOrEqual(t, lg.maxRows, int64(d.ClearBatch), "a batch deleted more than %d rows", d.ClearBatch)
			require.Less(t, lg.longest, 5*time.Second, "a batch held the table too long")
			t.Logf("deleted %d expired rows in %d batches (at most %d rows each); longest batch %v; %d reads, %d hits",
				deleted.Load(), lg.batches, lg.maxRows, lg.longest, reads.Load(), hits.Load())
		})
	}
}
