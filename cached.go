package cache

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// MaxKeyLength is the longest key, in characters (not bytes).
const MaxKeyLength = 255

// chunkSize bounds how many keys or rows one statement of a bulk operation
// carries, far below the parameter limits of SQLite (32766) and PostgreSQL
// (65535).
const chunkSize = 500

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
// value is stored as its JSON encoding (json.Marshal). Without an
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
			now := time.Now().UTC()
			var at *time.Time
			if at, err = expiry(now, exp); err == nil {
				o.expires(at)
				n, err = o.r.exec(o.r.d.Stmt(dialect.Touch), timeArg(at), now, e.key, now)
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

// flights deduplicates concurrent GetOrSet computations in this process.
// The zero Group is ready to use.
var flights singleflight.Group

type flightResult struct {
	raw []byte
}

// GetOrSet returns the live value under key, or calls compute, stores what
// it returns with the given expiry, and returns that. A stored null is a
// hit. When compute fails, its error is returned wrapped and nothing is
// stored. Concurrent misses of one key in one process call compute once;
// calls inside a transaction share no computation with calls outside it.
// Processes that miss at the same time may each call compute, but only the
// first value stored is kept, and every caller returns that one.
func GetOrSet[T any](db *gorm.DB, key string, compute func() (T, error), exp ...Expiration) (T, error) {
	var v T
	o, err := start(db, "cache.get_or_set", "get or set", key, true)
	if err != nil {
		return v, o.end(err)
	}
	if compute == nil {
		return v, o.end(errors.New("nil compute function"))
	}
	hit, err := o.get(&v)
	if err != nil || hit {
		o.hit(hit)
		return v, o.end(err)
	}
	o.hit(false)
	// The flight is keyed by the connection the call runs on: the pool, or
	// the caller's transaction, which no other call may see into.
	computed := false
	res, err, _ := flights.Do(flightKey(db, key), func() (any, error) {
		var raw json.RawMessage
		if hit, err := o.get(&raw); err != nil || hit {
			return flightResult{raw: raw}, err
		}
		val, err := compute()
		if err != nil {
			return nil, fmt.Errorf("compute: %w", err)
		}
		b, err := encode(val)
		if err != nil {
			return nil, err
		}
		// Add, not Set: another process may have stored a value since the
		// miss, and then that value is the one every caller gets.
		n, err := o.storeCount(dialect.Add, b, exp)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			if hit, err := o.get(&raw); err != nil || hit {
				return flightResult{raw: raw}, err
			}
		}
		v, computed = val, true
		return flightResult{raw: b}, nil
	})
	if err == nil && !computed {
		if r := res.(flightResult); r.raw != nil {
			var fresh T // decode into a zero T, as Get would
			if err = json.Unmarshal(r.raw, &fresh); err == nil {
				v = fresh
			}
		}
	}
	return v, o.end(err)
}

// flightKey names the connection a call runs on (the pool, or the caller's
// transaction), the cache table and the key.
func flightKey(db *gorm.DB, key string) string {
	var conn any = db.Statement.ConnPool
	if p, ok := conn.(*gorm.PreparedStmtDB); ok {
		conn = p.ConnPool // each session wraps the pool anew
	}
	table := dialect.Table
	if r, err := newRunner(db); err == nil {
		table = r.d.TableName
	}
	return fmt.Sprintf("%p\x00%s\x00%s", conn, table, key)
}

// GetMany returns the live values under keys decoded into T, keyed by key;
// keys without a live entry are absent from the map. It runs one query per
// chunk of keys. Every key is checked first: one invalid key fails the call
// with [ErrInvalidKey] before any query.
func GetMany[T any](db *gorm.DB, keys []string) (map[string]T, error) {
	o, err := start(db, "cache.get_many", "get many", "", false)
	out := make(map[string]T, len(keys))
	if err == nil {
		err = eachChunk(o, keys, func(r runner, chunk string) error {
			rows, err := r.query(r.d.Stmt(dialect.GetMany), chunk, time.Now().UTC())
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
		})
	}
	if err != nil {
		out = nil
	}
	return out, o.end(err)
}

// SetMany stores every value of values under its key, as Set does, in one
// transaction. Every key and value is checked first: one invalid entry fails
// the call with [ErrInvalidKey] or [ErrInvalidValue] and nothing is written.
func SetMany(db *gorm.DB, values map[string]any, exp ...Expiration) error {
	o, err := start(db, "cache.set_many", "set many", "", false)
	if err != nil {
		return o.end(err)
	}
	now := time.Now().UTC()
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
	err = inTx(o.r, len(keys) > chunkSize, func(r runner) error {
		for lo := 0; lo < len(keys); lo += chunkSize {
			hi := min(lo+chunkSize, len(keys))
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
		err = eachChunk(o, keys, func(r runner, chunk string) error {
			n, err := r.exec(r.d.Stmt(dialect.DeleteMany), chunk)
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
	rows, err := o.r.query(o.r.d.Stmt(dialect.Get), o.key, time.Now().UTC())
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
	rows, err := o.r.query(o.r.d.Stmt(dialect.Exists), o.key, time.Now().UTC())
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
	now := time.Now().UTC()
	at, err := expiry(now, exp)
	if err != nil {
		return 0, err
	}
	o.expires(at)
	nowArg := any(now) // boxed once for both timestamps
	return o.r.exec(o.r.d.Stmt(id), o.key, string(b), timeArg(at), nowArg, nowArg)
}

func (o *op) increment(delta int64, exp []Expiration) (int64, error) {
	if err := checkKey(o.key); err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	at, err := expiry(now, exp)
	if err != nil {
		return 0, err
	}
	// A refused increment returns no row; a second look tells why. If the
	// entry vanished in between, the increment is tried once more.
	for range 2 {
		nowArg := any(now) // boxed once for both timestamps
		n, ok, err := o.queryInt(o.r.d.Stmt(dialect.Increment), o.key, delta, timeArg(at), nowArg, nowArg)
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
		if found {
			if _, perr := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64); perr == nil {
				return 0, ErrOverflow
			}
			return 0, ErrNotNumber
		}
	}
	return 0, ErrNotNumber
}

// queryInt runs a statement that returns at most one integer.
func (o *op) queryInt(s *dialect.Stmt, args ...any) (int64, bool, error) {
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
	return n, true, rows.Close()
}

// eachChunk checks every key, then calls fn with the keys in chunks, each
// as a JSON array, inside one transaction when there is more than one.
func eachChunk(o op, keys []string, fn func(r runner, chunk string) error) error {
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
			chunk, err := json.Marshal(keys[lo:min(lo+chunkSize, len(keys))])
			if err != nil {
				return err
			}
			if err := fn(r, string(chunk)); err != nil {
				return err
			}
		}
		return nil
	})
}

// inTx runs fn in a transaction (a savepoint inside the caller's) when tx
// is true, else directly.
func inTx(r runner, tx bool, fn func(r runner) error) error {
	if !tx || r.dryRun() { // a dry run executes nothing, BEGIN included
		return fn(r)
	}
	return r.session().Transaction(func(tx *gorm.DB) error {
		txr, err := newRunner(tx)
		if err != nil {
			return err
		}
		return fn(txr.withContext(r.ctx))
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
	if err := checkNumbers(b); err != nil {
		return nil, err
	}
	return b, nil
}

// PostgreSQL's jsonb keeps numbers as numeric, which holds at most
// maxIntDigits digits before the decimal point and maxFracDigits after it,
// and whose input refuses an exponent of ±maxExponent or beyond, even on a
// zero (0e1073741823).
const (
	maxIntDigits  = 131072
	maxFracDigits = 16383
	maxExponent   = 1<<30 - 1 // INT_MAX/2 in PostgreSQL's numeric_in
)

// checkNumbers refuses JSON numbers that PostgreSQL's numeric cannot hold
// (1e131072, 1e-16384, 0e1073741823), so that SQLite refuses them as well. Only a value
// with an exponent or longer than maxFracDigits can hold one, so others are
// not scanned.
func checkNumbers(b []byte) error {
	if len(b) <= maxFracDigits && !hasExponent(b) {
		return nil
	}
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == '"': // skip the string: up to a quote after an even run of backslashes
			i++
			for {
				j := bytes.IndexByte(b[i:], '"')
				if j < 0 {
					return nil
				}
				i += j + 1
				n := 0
				for k := i - 2; k >= 0 && b[k] == '\\'; k-- {
					n++
				}
				if n%2 == 0 {
					break
				}
			}
		case c == '-' || isDigit(c):
			if c == '-' {
				i++
			}
			start := i
			for i < len(b) && isDigit(b[i]) {
				i++
			}
			intLen := i - start
			digits := b[start:i]
			fracLen := 0
			if i < len(b) && b[i] == '.' {
				i++
				fs := i
				for i < len(b) && isDigit(b[i]) {
					i++
				}
				fracLen = i - fs
				digits = append(digits[:len(digits):len(digits)], b[fs:i]...)
			}
			exp := 0
			if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
				i++
				neg := false
				if i < len(b) && (b[i] == '+' || b[i] == '-') {
					neg = b[i] == '-'
					i++
				}
				for i < len(b) && isDigit(b[i]) {
					if exp < 1<<30 {
						exp = exp*10 + int(b[i]-'0')
					}
					i++
				}
				if neg {
					exp = -exp
				}
				if exp >= maxExponent || exp <= -maxExponent {
					return fmt.Errorf("%w: a number has an exponent beyond ±%d, "+
						"more than PostgreSQL can read", ErrInvalidValue, maxExponent-1)
				}
			}
			if fracLen-exp > maxFracDigits {
				return fmt.Errorf("%w: a number has more than %d digits after the decimal point, "+
					"more than PostgreSQL can store", ErrInvalidValue, maxFracDigits)
			}
			zeros := 0
			for zeros < len(digits) && digits[zeros] == '0' {
				zeros++
			}
			if zeros < len(digits) && intLen-zeros+exp > maxIntDigits {
				return fmt.Errorf("%w: a number has more than %d digits before the decimal point, "+
					"more than PostgreSQL can store", ErrInvalidValue, maxIntDigits)
			}
		default:
			i++
		}
	}
	return nil
}

// hasExponent reports whether b may hold a number with an exponent: an e or
// E right after a digit ("true" and "false" have none).
func hasExponent(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if (b[i] == 'e' || b[i] == 'E') && isDigit(b[i-1]) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// cleanEscapes refuses the \u escapes that PostgreSQL's jsonb cannot hold
// (NUL and unpaired surrogates), so that SQLite refuses them as well, and
// turns json.Marshal's HTML escapes of <, > and & back into the characters,
// so that both databases store the same text. Backslashes only occur inside
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
