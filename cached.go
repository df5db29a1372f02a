package cache

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// Entry is the cache entry under one key, as seen through one *gorm.DB.
// It holds no state besides the two, so it is cheap to make and safe for
// concurrent use by multiple goroutines.
type Entry struct {
	db  *gorm.DB
	key string
}

// Cached returns the entry under key. Every call runs on db as given: pass
// db.WithContext(ctx) to bound a call with a context (cancelling it cancels
// the query), or the tx of db.Transaction to make the call part of that
// transaction, and db.Table(name) to use another cache table (see
// [AutoMigrate]). Cached never changes db. The key is checked when the entry
// is used: an invalid one makes every method fail with [ErrInvalidKey].
func Cached(db *gorm.DB, key string) *Entry {
	return &Entry{db: db, key: key}
}

// Key returns the entry's key.
func (e *Entry) Key() string { return e.key }

// Set stores value under the key, replacing any value and expiry it had. The
// value is stored as its JSON encoding (json.Marshal), with numbers written
// as PostgreSQL's jsonb gives them back on every database (1e3 as 1000,
// 1.50e1 as 15.0, -0 as 0), so that a value reads back, and Increment
// accepts it, alike on each. Without an
// Expiration the entry never expires. An existing entry keeps its ID and
// CreatedAt.
func (e *Entry) Set(value any, exp ...Expiration) error {
	o, err := start(e.db, "cache.set", "set", e.key, true)
	if err == nil {
		err = o.write(dialect.Set, value, exp)
	}
	return o.end(err)
}

// Add stores value only if the key has no live entry, atomically: of many
// concurrent Adds of one key exactly one returns true. An expired entry is
// replaced by a fresh one, with a new CreatedAt.
func (e *Entry) Add(value any, exp ...Expiration) (bool, error) {
	o, err := start(e.db, "cache.add", "add", e.key, true)
	var n int64
	if err == nil {
		n, err = o.writeCount(dialect.Add, value, exp)
	}
	return n > 0, o.end(err)
}

// Get decodes the live entry's value into dst with json.Unmarshal, in one
// query. It returns false, and leaves dst alone, when there is no entry or
// it has expired. A stored JSON null is a hit.
func (e *Entry) Get(dst any) (bool, error) {
	o, err := start(e.db, "cache.get", "get", e.key, true)
	var hit bool
	if err == nil {
		hit, err = o.get(dst)
	}
	return hit, o.end(err)
}

// Value returns the live entry's value decoded as json.Unmarshal decodes
// into an any: nil, bool, float64, string, []any or map[string]any. It
// returns nil when there is no live entry (and for a stored null).
func (e *Entry) Value() (any, error) {
	o, err := start(e.db, "cache.value", "value", e.key, true)
	var v any
	if err == nil {
		_, err = o.get(&v)
	}
	return v, o.end(err)
}

// Exists reports whether the key has a live entry. A stored JSON null
// counts.
func (e *Entry) Exists() (bool, error) {
	o, err := start(e.db, "cache.exists", "exists", e.key, true)
	var hit bool
	if err == nil {
		hit, err = o.exists()
	}
	return hit, o.end(err)
}

// Delete removes the entry, live or expired, and reports whether there was
// one.
func (e *Entry) Delete() (bool, error) {
	o, err := start(e.db, "cache.delete", "delete", e.key, true)
	var n int64
	if err == nil {
		n, err = o.r.exec(o.r.d.Stmt(dialect.Delete), e.key)
	}
	return n > 0, o.end(err)
}

// Touch gives a live entry a new expiry (none: it never expires) and leaves
// its value alone. It returns false when there is no live entry.
func (e *Entry) Touch(exp ...Expiration) (bool, error) {
	o, err := start(e.db, "cache.touch", "touch", e.key, true)
	var n int64
	if err == nil {
		now := clock()
		var at *time.Time
		if at, err = expiry(now, exp); err == nil {
			o.expires(at)
			n, err = o.r.touch(timeArg(at), now, e.key)
		}
	}
	return n > 0, o.end(err)
}

// Increment adds delta to the entry's integer value, atomically, and returns
// the result. It is a fixed window: a missing or expired entry starts at
// delta with the given expiry; a live one keeps its expiry. A stored null
// counts as 0. A value that is not a JSON integer fails with
// [ErrNotNumber], a result beyond int64 with [ErrOverflow]; either way the
// value is kept, and a surrounding transaction stays usable.
func (e *Entry) Increment(delta int64, exp ...Expiration) (int64, error) {
	o, err := start(e.db, "cache.increment", "increment", e.key, true)
	var n int64
	if err == nil {
		n, err = o.increment(delta, exp)
	}
	return n, o.end(err)
}

// Decrement subtracts delta from the entry's integer value, as Increment
// adds it: Decrement of a missing entry stores -delta.
func (e *Entry) Decrement(delta int64, exp ...Expiration) (int64, error) {
	o, err := start(e.db, "cache.decrement", "decrement", e.key, true)
	var n int64
	if err == nil {
		if delta == math.MinInt64 {
			err = ErrOverflow
		} else {
			n, err = o.increment(-delta, exp)
		}
	}
	return n, o.end(err)
}

// Get returns the live value under key decoded into a T, and whether there
// was one.
func Get[T any](db *gorm.DB, key string) (T, bool, error) {
	var v T
	ok, err := Cached(db, key).Get(&v)
	return v, ok, err
}

// get reads the live value into dst.
func (o *op) get(dst any) (bool, error) {
	rows, err := o.r.query(o.r.d.Stmt(dialect.Get), o.key, clock())
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		o.hit(false)
		return false, rows.Err()
	}
	o.hit(true)
	var raw sql.RawBytes
	if err := rows.Scan(&raw); err != nil {
		return false, err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return false, fmt.Errorf("decode: %w", err)
	}
	return true, rows.Close()
}

func (o *op) exists() (bool, error) {
	rows, err := o.r.query(o.r.d.Stmt(dialect.Exists), o.key, clock())
	if err != nil {
		return false, err
	}
	defer rows.Close()
	hit := rows.Next()
	o.hit(hit)
	if err := rows.Err(); err != nil {
		return false, err
	}
	return hit, rows.Close()
}

func (o *op) write(id dialect.ID, value any, exp []Expiration) error {
	_, err := o.writeCount(id, value, exp)
	return err
}

func (o *op) writeCount(id dialect.ID, value any, exp []Expiration) (int64, error) {
	b, err := encode(value)
	if err != nil {
		return 0, err
	}
	return o.storeCount(id, b, exp)
}

// storeCount runs the Set or Add upsert with encoded value b.
func (o *op) storeCount(id dialect.ID, b []byte, exp []Expiration) (int64, error) {
	now := clock()
	at, err := expiry(now, exp)
	if err != nil {
		return 0, err
	}
	o.expires(at)
	nowArg := any(now) // boxed once for both timestamps
	if id == dialect.Add && o.r.d.InsertID {
		return o.r.addByInsertID(o.key, string(b), timeArg(at), nowArg)
	}
	return o.r.exec(o.r.d.Stmt(id), o.key, string(b), timeArg(at), nowArg, nowArg)
}

func (o *op) increment(delta int64, exp []Expiration) (int64, error) {
	now := clock()
	at, err := expiry(now, exp)
	if err != nil {
		return 0, err
	}
	// A refused increment returns no row; a second look tells why. If the
	// entry vanished in between, or now holds an integer that delta does
	// not overflow (a concurrent Set), the increment is tried again.
	for {
		nowArg := any(now) // boxed once for both timestamps
		var (
			n  int64
			ok bool
		)
		if o.r.d.InsertID {
			n, ok, err = o.r.incrementByInsertID(o.key, delta, timeArg(at), nowArg)
		} else {
			n, ok, err = o.queryInt(o.r.d.Stmt(dialect.Increment), o.key, delta, timeArg(at), nowArg, nowArg)
		}
		if err != nil || ok || o.r.dryRun() {
			return n, err
		}
		rows, err := o.r.query(o.r.d.Stmt(dialect.ReadRaw), o.key)
		if err != nil {
			return 0, err
		}
		var raw []byte
		found := rows.Next()
		if found {
			err = rows.Scan(&raw)
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, err
		}
		if !found {
			continue
		}
		v, perr := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
		switch {
		case perr != nil:
			return 0, ErrNotNumber
		case delta == 0 && o.r.d.InsertID:
			return v, nil // MySQL reports adding 0 to a live integer as no change
		case delta > 0 && v > math.MaxInt64-delta, delta < 0 && v < math.MinInt64-delta:
			return 0, ErrOverflow
		}
		now = clock()
		if at, err = expiry(now, exp); err != nil {
			return 0, err
		}
	}
}

// queryInt runs a statement that returns at most one integer, waiting for
// SQLite's write lock as exec does (the statement runs, and may find the
// lock taken, at its first row).
func (o *op) queryInt(s *dialect.Stmt, args ...any) (n int64, ok bool, err error) {
	err = o.r.retryBusy(func() (err error) {
		n, ok, err = o.queryIntOnce(s, args...)
		return err
	})
	return n, ok, err
}

func (o *op) queryIntOnce(s *dialect.Stmt, args ...any) (int64, bool, error) {
	rows, err := o.r.query(s, args...)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, false, rows.Err()
	}
	var n int64
	if err := rows.Scan(&n); err != nil {
		return 0, false, err
	}
	return n, true, finish(&rows)
}
