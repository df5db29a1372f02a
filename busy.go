package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// busyWait bounds the package's own wait for SQLite's write lock: a write
// that SQLite refuses as busy is tried again every busyPoll (jittered)
// until the call has lasted busyWait or its context is done.
//
// SQLite's own busy handler (the DSN's _busy_timeout) sleeps 1, 2, 5, …
// then 100 ms between tries, so across processes a writer that has waited
// long tries less often than one that just wrote: at 8 processes on one
// counter, shares of the writes ranged from 0.12× to 1.41× the fair one and
// the slowest call took 981 ms. Polling at a fixed millisecond gives every
// waiting process the same chance (0.86–1.20×, slowest call 160 ms). It
// takes over when _busy_timeout is shorter than busyWait; a write pool with
// _busy_timeout=5 leaves the waiting to it. A wait here also ends with the
// call's context, which SQLite's busy handler ignores.
const (
	busyWait = 10 * time.Second
	busyPoll = time.Millisecond
)

// exec runs a statement and returns the number of rows it affected,
// waiting for SQLite's write lock as busyWait describes.
func (r runner) exec(s *dialect.Stmt, args ...any) (int64, error) {
	var n int64
	err := r.retryBusy(func() (err error) {
		n, _, err = r.again(func() (int64, int64, error) {
			n, err := r.execOnce(s, args...)
			return n, 0, err
		})
		return err
	})
	return n, err
}

// retryBusy calls f, and again while it fails with SQLite's busy error, as
// busyWait describes. Inside the caller's transaction it calls f once: the
// transaction, not the statement, is what must be retried.
func (r runner) retryBusy(f func() error) error {
	begin := time.Now()
	err := f()
	if err == nil || r.d == nil || r.d.Name != "sqlite" || !isBusy(err) {
		return err
	}
	if _, inTx := r.db.Statement.ConnPool.(gorm.TxCommitter); inTx {
		return err
	}
	var t *time.Timer
	for time.Since(begin) < busyWait {
		if d := busyPoll/2 + rand.N(busyPoll); t == nil {
			t = time.NewTimer(d)
			defer t.Stop()
		} else {
			t.Reset(d)
		}
		select {
		case <-r.ctx.Done():
			return err
		case <-t.C:
		}
		if err = f(); err == nil || !isBusy(err) {
			return err
		}
	}
	return err
}

// isBusy reports SQLite's SQLITE_BUSY. The package imports no driver, so it
// goes by what every SQLite driver puts in the message:
// sqlite3_errstr(SQLITE_BUSY), "database is locked" (mattn/go-sqlite3 says
// just that; modernc.org/sqlite adds "(5) (SQLITE_BUSY)"). SQLITE_LOCKED,
// "database table is locked", is a conflict inside one connection or shared
// cache, not a wait, and is left alone.
func isBusy(err error) bool {
	s := err.Error()
	return strings.Contains(s, "database is locked") || strings.Contains(s, "SQLITE_BUSY")
}

// withBusyErr makes a SQLite busy error match ErrBusy. Errors of other
// databases are never touched, nor an error that already names the
// context: a deadline that cut the wait short is what the caller asked for.
func withBusyErr(d *dialect.Dialect, err error) error {
	if d == nil || d.Name != "sqlite" || errors.Is(err, ErrBusy) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || !isBusy(err) {
		return err
	}
	return fmt.Errorf("%w (%w)", ErrBusy, err)
}
