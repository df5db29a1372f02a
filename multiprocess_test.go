package cache_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// Environment of a child process of TestMultiProcessIncrement.
const hotChildEnv = "GORMCACHE_HOT_CHILD"

const (
	hotProcs      = 4
	hotWorkers    = 4
	hotIncrements = 250 // per goroutine
	// hotDeadline bounds each call: well under the recommended 10 s busy
	// timeout, so a writer that waits anywhere near it fails the test.
	hotDeadline = 5 * time.Second
)

// TestMultiProcessIncrement re-runs the test binary as 4 processes of 4
// goroutines that increment one key 250 times each, every call under a 5 s
// deadline, on the recommended setup (SQLite: the recommended write pool, of
// one connection with _busy_timeout=5, in each process). No call fails (no "database is
// locked", no ErrBusy, no deadline) and the counter ends at exactly 4000.
// Each child logs its slowest call.
func TestMultiProcessIncrement(t *testing.T) {
	if os.Getenv(hotChildEnv) != "" {
		hotChild(t)
		return
	}
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			start := time.Now().Add(2 * time.Second)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			type child struct {
				cmd *exec.Cmd
				out strings.Builder
			}
			children := make([]*child, hotProcs)
			for i := range children {
				c := &child{cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMultiProcessIncrement$", "-test.count=1", "-test.v")}
				c.cmd.Env = append(os.Environ(),
					hotChildEnv+"="+b.Name, childDSNEnv+"="+b.DSN,
					childStartEnv+"="+strconv.FormatInt(start.UnixNano(), 10))
				c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
				require.NoError(t, c.cmd.Start())
				children[i] = c
			}
			for i, c := range children {
				require.NoError(t, c.cmd.Wait(), "child %d output:\n%s", i, c.out.String())
				for line := range strings.Lines(c.out.String()) {
					if s, ok := strings.CutPrefix(strings.TrimSpace(line), "SLOWEST "); ok {
						t.Logf("process %d: slowest Increment %s", i, s)
					}
				}
			}
			n, ok, err := cache.Get[int64](b.DB, "hot")
			require.NoError(t, err)
			require.True(t, ok)
			require.EqualValues(t, hotProcs*hotWorkers*hotIncrements, n)
			if b.Name == "sqlite" {
				fi, err := os.Stat(strings.TrimPrefix(strings.SplitN(b.DSN, "?", 2)[0], "file:") + "-wal")
				require.NoError(t, err)
				// Not bounded: see RELIABILITY.md on writers in several processes.
				t.Logf("-wal file: %d bytes", fi.Size())
			}
		})
	}
}

// hotChild is the body of one child process of TestMultiProcessIncrement.
func hotChild(t *testing.T) {
	dsn := os.Getenv(childDSNEnv)
	// The recommended write pool: the package, not SQLite's busy handler,
	// waits for the lock.
	dial := cachetest.Dialector(os.Getenv(hotChildEnv), dsn)
	if os.Getenv(hotChildEnv) == "sqlite" {
		dial = sqlite.Open(strings.Replace(dsn, "_busy_timeout=10000", "_busy_timeout=5", 1))
	}
	db, err := gorm.Open(dial, cachetest.Config())
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	defer sqlDB.Close()
	if os.Getenv(hotChildEnv) == "sqlite" {
		sqlDB.SetMaxOpenConns(1) // the recommended write pool
	}
	startNanos, err := strconv.ParseInt(os.Getenv(childStartEnv), 10, 64)
	require.NoError(t, err)
	time.Sleep(time.Until(time.Unix(0, startNanos)))

	var (
		mu      sync.Mutex
		slowest time.Duration
		fails   errorLog
		wg      sync.WaitGroup
	)
	for range hotWorkers {
		wg.Go(func() {
			for range hotIncrements {
				ctx, cancel := context.WithTimeout(context.Background(), hotDeadline)
				began := time.Now()
				_, err := cache.Cached(db.WithContext(ctx), "hot").Increment(1)
				took := time.Since(began)
				cancel()
				mu.Lock()
				slowest = max(slowest, took)
				mu.Unlock()
				if err != nil {
					fails.add("after %v: %v (busy: %v, locked: %v)", took, err,
						errors.Is(err, cache.ErrBusy), strings.Contains(err.Error(), "database is locked"))
				}
			}
		})
	}
	wg.Wait()
	fmt.Printf("SLOWEST %v\n", slowest)
	fails.check(t)
}
