package cache

import "errors"

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
	// surrogate, invalid UTF-8, a number beyond numeric's range). SQLite
	// refuses the same values, so both databases accept the same ones.
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
