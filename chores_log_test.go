package cache_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// failureLog is a GORM logger that keeps the messages of Error.
type failureLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *failureLog) LogMode(logger.LogLevel) logger.Interface { return l }
func (l *failureLog) Info(context.Context, string, ...any)     {}
func (l *failureLog) Warn(context.Context, string, ...any)     {}
func (l *failureLog) Trace(context.Context, time.Time, func() (string, int64), error) {
}

func (l *failureLog) Error(_ context.Context, msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, fmt.Sprintf(msg, args...))
}

func (l *failureLog) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// TestRunClearExpiredLogsFailures: a run that fails while ctx is live is
// reported to db's GORM logger, and a run that succeeds reports nothing.
func TestRunClearExpiredLogsFailures(t *testing.T) {
	testRunLogsFailures(t, "cache: clear expired: ", func(ctx context.Context, db *gorm.DB) error {
		return cache.RunClearExpired(ctx, db, 5*time.Millisecond)
	})
}

// TestRunTrimLogsFailures: the same for RunTrim.
func TestRunTrimLogsFailures(t *testing.T) {
	testRunLogsFailures(t, "cache: trim: ", func(ctx context.Context, db *gorm.DB) error {
		return cache.RunTrim(ctx, db, 5*time.Millisecond, cache.Limits{MaxEntries: 10})
	})
}

// testRunLogsFailures runs a periodic chore (start blocks until ctx is
// done) on a table with one expired entry, then on a missing table, and
// checks what reached the logger: nothing, then an error starting with
// prefix.
func testRunLogsFailures(t *testing.T, prefix string, start func(ctx context.Context, db *gorm.DB) error) {
	t.Parallel()
	run := func(t *testing.T, db *gorm.DB, until func() bool) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- start(ctx, db) }()
		deadline := time.Now().Add(time.Minute)
		for !until() {
			require.True(t, time.Now().Before(deadline), "the chore never got there")
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(time.Minute):
			t.Fatal("the chore did not return after cancel")
		}
	}

	t.Run("success", func(t *testing.T) {
		t.Parallel()
		b := cachetest.SQLite(t)
		require.NoError(t, cache.Cached(b.DB, "old").Set(1, cache.In(-time.Hour)))
		log := &failureLog{}
		db := b.DB.Session(&gorm.Session{Logger: log})
		run(t, db, func() bool {
			var n int64
			require.NoError(t, b.DB.Model(&cache.CachedItem{}).Count(&n).Error)
			return n == 0 // a run completed
		})
		require.Empty(t, log.messages(), "a successful run logged an error")
	})

	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		b := cachetest.SQLite(t)
		require.NoError(t, b.DB.Migrator().DropTable(&cache.CachedItem{}))
		log := &failureLog{}
		db := b.DB.Session(&gorm.Session{Logger: log})
		run(t, db, func() bool { return len(log.messages()) > 0 })
		require.Contains(t, log.messages()[0], prefix)
		require.Contains(t, log.messages()[0], "no such table")
	})
}
