package cache

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// MaxKeyLength is the longest key, in characters (not bytes).
const MaxKeyLength = 255

// chunkSize bounds how many keys or rows one statement of a bulk operation
// carries, far below the parameter limits of SQLite (32766) and PostgreSQL
// (65535).
const chunkSize = 500

// chunkBytes bounds the keys and values one SetMany statement carries
// (unless a single value is larger), well within MySQL's smallest default
// max_allowed_packet (4 MiB on MySQL 5.7; 64 MiB on 8.0, 16 MiB on MariaDB).
const chunkBytes = 1 << 20

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
		if err = checkKey(e.key); err == nil {
			n, err = o.r.exec(o.r.d.Stmt(dialect.Delete), e.key)
		}
	}
	return n > 0, o.end(err)
}

// Touch gives a live entry a new expiry (none: it never expires) and leaves
// its value alone. It returns false when there is no live entry.
func (e *Entry) Touch(exp ...Expiration) (bool, error) {
	o, err := start(e.db, "cache.touch", "touch", e.key, true)
	var n int64
	if err == nil {
		if err = checkKey(e.key); err == nil {
			now := clock()
			var at *time.Time
			if at, err = expiry(now, exp); err == nil {
				o.expires(at)
				n, err = o.r.touch(timeArg(at), now, e.key)
			}
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
		if delta == minInt64 {
			err = ErrOverflow
		} else {
			n, err = o.increment(-delta, exp)
		}
	}
	return n, o.end(err)
}

const minInt64 = -1 << 63

// Get returns the live value under key decoded into a T, and whether there
// was one.
func Get[T any](db *gorm.DB, key string) (T, bool, error) {
	var v T
	ok, err := Cached(db, key).Get(&v)
	return v, ok, err
}

// GetMany returns the live values under keys decoded into T, keyed by key;
// keys without a live entry are absent from the map. It runs one query,
// whatever the number of keys (they travel as one JSON array parameter; on
// MySQL one query per 500 keys, each a parameter), and never opens a
// transaction, so on SQLite it does not wait for a writer.
// Every key is checked first: one invalid key fails the call with
// [ErrInvalidKey] before any query.
func GetMany[T any](db *gorm.DB, keys []string) (map[string]T, error) {
	o, err := start(db, "cache.get_many", "get many", "", false)
	out := make(map[string]T, len(keys))
	if err == nil {
		err = getMany(o.r, keys, out)
	}
	if err != nil {
		out = nil
	}
	return out, o.end(err)
}

func getMany[T any](r runner, keys []string, out map[string]T) error {
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("%q: %w", k, err)
		}
	}
	// One query for all the keys (one JSON array parameter), but on MySQL,
	// which takes a parameter per key, one per chunkSize keys.
	per := len(keys)
	if r.d.ListKeys() {
		per = chunkSize
	}
	for lo := 0; lo < len(keys); lo += per {
		if err := getChunk(r, keys[lo:min(lo+per, len(keys))], out); err != nil {
			return err
		}
	}
	return nil
}

func getChunk[T any](r runner, keys []string, out map[string]T) error {
	s, args, err := r.d.Many(dialect.GetMany, keys, jsonKeys(keys))
	if err != nil {
		return err
	}
	rows, err := r.query(s, append(args, clock())...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var key string
	var raw sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&key, &raw); err != nil {
			return err
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decode %q: %w", key, err)
		}
		out[key] = v
	}
	return rows.Err()
}

// SetMany stores every value of values under its key, as Set does, in one
// transaction. Every key and value is checked first: one invalid entry fails
// the call with [ErrInvalidKey] or [ErrInvalidValue] and nothing is written.
func SetMany(db *gorm.DB, values map[string]any, exp ...Expiration) error {
	o, err := start(db, "cache.set_many", "set many", "", false)
	if err != nil {
		return o.end(err)
	}
	now := clock()
	at, err := expiry(now, exp)
	if err != nil {
		return o.end(err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		if err := checkKey(k); err != nil {
			return o.end(fmt.Errorf("%q: %w", k, err))
		}
		keys = append(keys, k)
	}
	// A fixed order makes concurrent SetMany calls lock rows in the same
	// order, so they cannot deadlock on PostgreSQL.
	slices.Sort(keys)
	encoded := make([]string, len(keys))
	for i, k := range keys {
		b, err := encode(values[k])
		if err != nil {
			return o.end(fmt.Errorf("%q: %w", k, err))
		}
		encoded[i] = string(b)
	}
	o.expires(at)
	expArg, nowArg := timeArg(at), any(now)
	// Chunks end after chunkSize rows or once their values pass
	// chunkBytes, so that a statement stays within MySQL's
	// max_allowed_packet.
	var ends []int
	for i, size := 0, 0; i < len(keys); i++ {
		size += len(keys[i]) + len(encoded[i])
		if i+1 == len(keys) || i+1-lastEnd(ends) == chunkSize || size >= chunkBytes {
			ends = append(ends, i+1)
			size = 0
		}
	}
	err = inTx(o.r, len(ends) > 1, func(r runner) error {
		for c, hi := range ends {
			lo := 0
			if c > 0 {
				lo = ends[c-1]
			}
			args := make([]any, 0, 5*(hi-lo))
			for i := lo; i < hi; i++ {
				args = append(args, keys[i], encoded[i], expArg, nowArg, nowArg)
			}
			s := r.d.SetMany(hi - lo)
			if _, err := r.exec(&s, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return o.end(err)
}

// DeleteMany removes the entries under keys, live or expired, and returns
// how many there were. Every key is checked before anything is deleted.
func DeleteMany(db *gorm.DB, keys []string) (int64, error) {
	o, err := start(db, "cache.delete_many", "delete many", "", false)
	var total int64
	if err == nil {
		err = eachChunk(o, keys, func(r runner, chunk []string) error {
			s, args, err := r.d.Many(dialect.DeleteMany, chunk, jsonKeys(chunk))
			if err != nil {
				return err
			}
			n, err := r.exec(s, args...)
			total += n
			return err
		})
	}
	if err != nil {
		total = 0
	}
	return total, o.end(err)
}

// Clear deletes every entry and returns how many there were.
func Clear(db *gorm.DB) (int64, error) {
	o, err := start(db, "cache.clear", "clear", "", false)
	var n int64
	if err == nil {
		n, err = o.r.exec(o.r.d.Stmt(dialect.Clear))
	}
	return n, o.end(err)
}

// get reads the live value into dst.
func (o *op) get(dst any) (bool, error) {
	if err := checkKey(o.key); err != nil {
		return false, err
	}
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
	if err := checkKey(o.key); err != nil {
		return false, err
	}
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
	if err := checkKey(o.key); err != nil {
		return 0, err
	}
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
	if err := checkKey(o.key); err != nil {
		return 0, err
	}
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

// lastEnd returns the last chunk end so far, 0 before the first.
func lastEnd(ends []int) int {
	if len(ends) == 0 {
		return 0
	}
	return ends[len(ends)-1]
}

// eachChunk checks every key, then calls fn with the keys in chunks, each
// as a JSON array, inside one transaction when there is more than one.
func eachChunk(o op, keys []string, fn func(r runner, chunk []string) error) error {
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("%q: %w", k, err)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	return inTx(o.r, len(keys) > chunkSize, func(r runner) error {
		for lo := 0; lo < len(keys); lo += chunkSize {
			if err := fn(r, keys[lo:min(lo+chunkSize, len(keys))]); err != nil {
				return err
			}
		}
		return nil
	})
}

// jsonKeys returns a function encoding keys as one JSON array.
func jsonKeys(keys []string) func() (string, error) {
	return func() (string, error) {
		b, err := json.Marshal(keys)
		return string(b), err
	}
}

// inTx runs fn in a transaction (a savepoint inside the caller's) when tx
// is true, else directly.
func inTx(r runner, tx bool, fn func(r runner) error) error {
	if !tx || r.dryRun() { // a dry run executes nothing, BEGIN included
		return fn(r)
	}
	// A transaction that found SQLite's write lock taken rolled back whole,
	// so it is tried again whole.
	return r.retryBusy(func() error {
		return r.session().Transaction(func(tx *gorm.DB) error {
			txr, err := newRunner(tx)
			if err != nil {
				return err
			}
			return fn(txr.withContext(r.ctx))
		})
	})
}

// timeArg passes an optional time as a query argument.
func timeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

// checkKey returns ErrInvalidKey for a key that cannot be stored the same
// way on every database.
func checkKey(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case !utf8.ValidString(k):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	case strings.IndexByte(k, 0) >= 0:
		return fmt.Errorf("%w: contains a NUL byte", ErrInvalidKey)
	case len(k) > MaxKeyLength && utf8.RuneCountInString(k) > MaxKeyLength:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidKey, MaxKeyLength)
	}
	return nil
}

// encode returns the JSON encoding of v, or ErrInvalidValue.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidValue, err)
	}
	if b, err = cleanEscapes(b); err != nil {
		return nil, err
	}
	// A json.Marshaler (json.RawMessage among them) may return invalid
	// UTF-8 inside a string, which PostgreSQL refuses.
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalidValue)
	}
	if b, err = canonicalNumbers(b); err != nil {
		return nil, err
	}
	if err := checkDepth(b); err != nil {
		return nil, err
	}
	return b, nil
}

// cleanEscapes refuses the \u escapes that PostgreSQL's jsonb cannot hold
// (NUL and unpaired surrogates), so that SQLite refuses them as well, and
// turns json.Marshal's HTML escapes of <, > and & back into the characters,
// so that both databases store them as characters (PostgreSQL's jsonb keeps
// no escape of them either). Backslashes only occur inside
// strings in valid JSON, so a linear walk over escapes is exact.
func cleanEscapes(b []byte) ([]byte, error) {
	i := bytes.IndexByte(b, '\\')
	if i < 0 {
		return b, nil
	}
	var out []byte // b with HTML escapes undone; nil while there are none
	last := 0      // b[:last] is in out
	for i < len(b)-1 {
		if b[i] != '\\' {
			i++
			continue
		}
		if b[i+1] != 'u' || i+6 > len(b) {
			i += 2
			continue
		}
		r := hex4(b[i+2 : i+6])
		switch {
		case r == 0:
			return nil, fmt.Errorf("%w: contains \\u0000, which PostgreSQL cannot store", ErrInvalidValue)
		case r == '<' || r == '>' || r == '&':
			out = append(append(out, b[last:i]...), byte(r))
			last = i + 6
		case r >= 0xD800 && r < 0xDC00:
			if i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				if lo := hex4(b[i+8 : i+12]); lo >= 0xDC00 && lo < 0xE000 {
					i += 12
					continue
				}
			}
			return nil, fmt.Errorf("%w: unpaired surrogate escape", ErrInvalidValue)
		case r >= 0xDC00 && r < 0xE000:
			return nil, fmt.Errorf("%w: unpaired surrogate escape", ErrInvalidValue)
		}
		i += 6
	}
	if out == nil {
		return b, nil
	}
	return append(out, b[last:]...), nil
}

// hex4 decodes four hex digits; -1 if they are not.
func hex4(b []byte) int {
	n := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		default:
			return -1
		}
	}
	return n
}

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
