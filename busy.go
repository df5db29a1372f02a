package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gormcache/cache/internal/dialect"
)

// withBusyErr makes a SQLite lock error match ErrBusy. The package imports
// no driver, so it goes by what every SQLite driver puts in the message:
// sqlite3_errstr(SQLITE_BUSY), "database is locked" (mattn/go-sqlite3 says
// just that; modernc.org/sqlite adds "(5) (SQLITE_BUSY)"). SQLITE_LOCKED,
// "database table is locked", is a conflict inside one connection or
// shared cache, not a wait, and is left alone. Errors of other databases are
// never touched, nor an error that already names the context: a deadline
// that cut the wait short is what the caller asked for.
func withBusyErr(d *dialect.Dialect, err error) error {
	if d == nil || d.Name != "sqlite" || errors.Is(err, ErrBusy) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	s := err.Error()
	if !strings.Contains(s, "database is locked") && !strings.Contains(s, "SQLITE_BUSY") {
		return err
	}
	return fmt.Errorf("%w (%w)", ErrBusy, err)
}
