package cache

// Bulk operations: GetMany, SetMany, DeleteMany and Clear, and the chunks
// and transaction they share.

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gormcache/cache/internal/dialect"
	"gorm.io/gorm"
)

// chunkSize bounds how many keys or rows one statement of a bulk operation
// carries, far below the parameter limits of SQLite (32766) and PostgreSQL
// (65535).
const chunkSize = 500

// chunkBytes bounds the keys and values one SetMany statement carries
// (unless a single value is larger), well within MySQL's smallest default
// max_allowed_packet (4 MiB on MySQL 5.7; 64 MiB on 8.0, 16 MiB on MariaDB).
const chunkBytes = 1 << 20

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
	if err := checkKeys(keys); err != nil {
		return err
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
		keys = append(keys, k)
	}
	if err := checkKeys(keys); err != nil {
		return o.end(err)
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
	ts, err := sessionTags(db)
	if err != nil {
		return o.end(err)
	}
	err = inTx(o.r, len(ends) > 1 || ts != nil && !o.r.d.SyncsTags(), func(r runner) error {
		for c, hi := range ends {
			lo := 0
			if c > 0 {
				lo = ends[c-1]
			}
			args := make([]any, 0, 6*(hi-lo))
			for i := lo; i < hi; i++ {
				args = append(args, keys[i], encoded[i], expArg, nowArg, nowArg)
				if ts != nil {
					args = append(args, ts.json)
				}
			}
			s := r.d.SetMany(hi-lo, ts != nil)
			if _, err := r.exec(&s, args...); err != nil {
				return err
			}
			if ts != nil {
				if err := syncTags(r, keys[lo:hi]); err != nil {
					return err
				}
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
	if err := checkKeys(keys); err != nil {
		return err
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
	// A transaction that found SQLite's write lock taken, or that MySQL
	// chose as a deadlock victim, rolled back whole, so it is tried again
	// whole (unless it is the caller's, which is theirs to retry).
	run := func() error {
		return r.session().Transaction(func(tx *gorm.DB) error {
			txr, err := newRunner(tx, r.ctx)
			if err != nil {
				return err
			}
			txr.parent, _ = r.db.Statement.ConnPool.(*sql.DB)
			return fn(txr)
		})
	}
	return r.againOnDeadlock(func() error { return r.retryBusy(run) })
}

// againOnDeadlock calls f, and again, up to 10 times in all, while it fails
// with MySQL's deadlock error outside the caller's transaction: the server
// rolled back what f did, whole.
func (r runner) againOnDeadlock(f func() error) error {
	for i := 0; ; i++ {
		err := f()
		if i == 9 || !r.d.Retryable(err) || r.inTx() || r.ctx.Err() != nil {
			return err
		}
	}
}
