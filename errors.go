package cache

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors. Every error a function of this package returns is wrapped
// with the operation and key (for example `cache: set "k": ...`); test for
// these with [errors.Is]. A cache miss is not an error: reads report it with
// a false result.
var (
	// ErrInvalidKey is returned when a key is empty, longer than 255
	// characters, not valid UTF-8 or contains a NUL byte. Such a call never
	// reaches the database.
	ErrInvalidKey = errors.New("cache: invalid key")

	// ErrInvalidValue is returned when a value cannot be stored as JSON:
	// json.Marshal fails (NaN, ±Inf, channels, funcs), or the JSON holds
	// what PostgreSQL's jsonb cannot store (a \u0000 character, an unpaired
	// surrogate, invalid UTF-8, a number beyond numeric's range), or arrays
	// and objects nested deeper than 31 levels, which MariaDB's JSON column
	// refuses. Every database refuses the same values, so all accept the
	// same ones.
	ErrInvalidValue = errors.New("cache: invalid value")

	// ErrInvalidExpiration is returned for a zero or out-of-range time
	// (before year 1 or after year 9999), a NaN or infinite number of
	// seconds, or more than one Expiration in a call.
	ErrInvalidExpiration = errors.New("cache: invalid expiration")

	// ErrNotNumber is returned by Increment and Decrement when the live
	// value is not a JSON integer that fits in an int64. The value is kept.
	ErrNotNumber = errors.New("cache: value is not an integer")

	// ErrOverflow is returned by Increment and Decrement when the result
	// would not fit in an int64. The value is kept.
	ErrOverflow = errors.New("cache: integer overflow")

	// ErrInvalidStatus is returned by ParseStatus and List for a status
	// that is not one of the Status constants.
	ErrInvalidStatus = errors.New("cache: invalid status")

	// ErrInvalidCursor is returned by List for a ListOptions.After that is
	// not the Next of a Page.
	ErrInvalidCursor = errors.New("cache: invalid cursor")

	// ErrPanicked is returned by GetOrSet to the callers that waited for
	// a compute function that panicked (its own caller panics again).
	ErrPanicked = errors.New("cache: compute panicked")

	// ErrRecursive is returned by GetOrSet when a compute function calls
	// GetOrSet for the key it is computing, which would wait for itself.
	ErrRecursive = errors.New("cache: compute called GetOrSet for its own key")

	// ErrBusy is returned when SQLite reports that the database is locked
	// (SQLITE_BUSY) and the call's context is not done: another
	// connection, often in another process, held the write lock for longer
	// than the busy timeout, which is the DSN's _busy_timeout or, when that
	// is shorter, the 10 s for which the package itself tries again every
	// millisecond. The driver's error is wrapped too. The call changed
	// nothing; it may be retried. README's Recommended settings show how to
	// keep writers in several processes well under the timeout.
	ErrBusy = errors.New("cache: database busy: another writer held the lock for longer than the busy timeout")

	// ErrUnsupportedSession is returned when the *gorm.DB passed in carries
	// clauses or scopes that would change the SQL of a cache statement
	// (Where, Select, Joins, Order, Limit, Scopes, Raw, a Model other than
	// CachedItem, ...): the cache runs its own SQL and will not drop them
	// silently. db.Table, WithContext, Debug, Set, Session options,
	// transactions and dbresolver's clauses are supported.
	ErrUnsupportedSession = errors.New("cache: unsupported session")

	// ErrInvalidTable is returned when db.Table names a cache table other
	// than a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes),
	// optionally qualified by a schema ("schema.table"), or is an
	// expression. Nothing reaches the database.
	ErrInvalidTable = errors.New("cache: invalid table name")
)

// withContextErr makes err match the context's error with errors.Is when the
// context is done: drivers report an interrupted call in their own words
// (SQLite's "database is locked" when a deadline cuts a wait for the write
// lock short), yet the caller asked for the deadline.
func withContextErr(ctx context.Context, err error) error {
	if ctx == nil {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}
