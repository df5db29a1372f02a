package bench_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/alexedwards/scs/mysqlstore"
	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/bench/internal/benchdb"
	"github.com/gormcache/cache/internal/dialect"
)

type Item = benchdb.Item

// errUnsupported marks an operation an implementation does not offer.
var errUnsupported = errors.New("not offered by this implementation")

// kv is one implementation of the benchmarked operations.
type kv interface {
	Get(key string, dst *Item) (bool, error)
	Set(key string, v *Item) error
	Increment(key string, delta int64) (int64, error)
	// GetMany decodes the live values under keys and returns how many
	// there were.
	GetMany(keys []string) (int, error)
}

const ttl = time.Hour

// gormcacheKV is the library under test.
type gormcacheKV struct{ db *gorm.DB }

func (k gormcacheKV) Get(key string, dst *Item) (bool, error) {
	return cache.Cached(k.db, key).Get(dst)
}
func (k gormcacheKV) Set(key string, v *Item) error {
	return cache.Cached(k.db, key).Set(v, cache.In(ttl))
}

// WithTags returns the implementation writing through a WithTags session.
func (k gormcacheKV) WithTags(tags ...string) kv {
	return gormcacheKV{db: cache.WithTags(k.db, tags...)}
}
func (k gormcacheKV) Increment(key string, d int64) (int64, error) {
	return cache.Cached(k.db, key).Increment(d)
}
func (k gormcacheKV) GetMany(keys []string) (int, error) {
	m, err := cache.GetMany[Item](k.db, keys)
	return len(m), err
}

// rawKV runs gormcache's SQL as database/sql prepared statements.
type rawKV struct {
	get, set, incr, getMany *sql.Stmt
	// On MySQL: Increment's result comes from the OK packet, and GetMany
	// takes one ? per key (the statement for len(keys) keys, prepared on
	// first use).
	mysql   bool
	db      *sql.DB
	d       *dialect.Dialect
	manyMu  sync.Mutex
	manyFor map[int]*sql.Stmt
}

func newRawKV(ctx context.Context, db *sql.DB, pg bool) (*rawKV, error) {
	name := "sqlite"
	if pg {
		name = "postgres"
	}
	_, isMySQL := db.Driver().(*gomysql.MySQLDriver)
	if isMySQL {
		name = "mysql"
	}
	d, err := dialect.For(name)
	if err != nil {
		return nil, err
	}
	k := &rawKV{mysql: isMySQL, db: db, d: d, manyFor: map[int]*sql.Stmt{}}
	for _, p := range []struct {
		st **sql.Stmt
		id dialect.ID
	}{{&k.get, dialect.Get}, {&k.set, dialect.Set}, {&k.incr, dialect.Increment}, {&k.getMany, dialect.GetMany}} {
		if *p.st, err = db.PrepareContext(ctx, d.Stmt(p.id).Native); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Close closes the prepared statements.
func (k *rawKV) Close() {
	for _, st := range []*sql.Stmt{k.get, k.set, k.incr, k.getMany} {
		_ = st.Close()
	}
	for _, st := range k.manyFor {
		_ = st.Close()
	}
}

func (k *rawKV) Get(key string, dst *Item) (bool, error) {
	var b []byte
	err := k.get.QueryRow(key, time.Now().UTC()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(b, dst)
}

func (k *rawKV) Set(key string, v *Item) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	_, err = k.set.Exec(key, string(b), now.Add(ttl), now, now)
	return err
}

func (k *rawKV) Increment(key string, d int64) (int64, error) {
	now := time.Now().UTC()
	if k.mysql {
		res, err := k.incr.Exec(key, d, nil, now, now)
		if err != nil {
			return 0, err
		}
		rows, _ := res.RowsAffected()
		id, _ := res.LastInsertId()
		switch {
		case rows == 2:
			return id, nil
		case rows == 1 && id != 0:
			return d, nil
		}
		return 0, errors.New("increment refused")
	}
	// Read to the end, as gormcache does: a statement left after its first
	// row is reset without finishing, and SQLite then skips its automatic
	// checkpoint (the WAL grows without bound).
	rows, err := k.incr.Query(key, d, nil, now, now)
	if err != nil {
		return 0, err
	}
	var n int64
	found := false
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return 0, err
		}
		found = true
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, sql.ErrNoRows
	}
	return n, nil
}

// manyStmt returns GetMany for n keys and its arguments.
func (k *rawKV) manyStmt(keys []string) (*sql.Stmt, []any, error) {
	if !k.mysql {
		ks, err := json.Marshal(keys)
		return k.getMany, []any{string(ks)}, err
	}
	s, args, err := k.d.Many(dialect.GetMany, keys, nil)
	if err != nil {
		return nil, nil, err
	}
	k.manyMu.Lock()
	defer k.manyMu.Unlock()
	st := k.manyFor[len(keys)]
	if st == nil {
		if st, err = k.db.Prepare(s.Native); err != nil {
			return nil, nil, err
		}
		k.manyFor[len(keys)] = st
	}
	return st, args, nil
}

func (k *rawKV) GetMany(keys []string) (int, error) {
	st, args, err := k.manyStmt(keys)
	if err != nil {
		return 0, err
	}
	rows, err := st.Query(append(args, time.Now().UTC())...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	out := make(map[string]Item, len(keys))
	var key string
	var raw sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&key, &raw); err != nil {
			return 0, err
		}
		var v Item
		if err := json.Unmarshal(raw, &v); err != nil {
			return 0, err
		}
		out[key] = v
	}
	return len(out), rows.Err()
}

// naiveKV is what one writes with GORM's query builder.
type naiveKV struct {
	db *gorm.DB
	pg bool // lock the row to increment it (PostgreSQL, MySQL)
}

const naiveLive = `(expires_at IS NULL OR expires_at >= ?)`

func (k naiveKV) Get(key string, dst *Item) (bool, error) {
	var it cache.CachedItem
	err := k.db.Where(&cache.CachedItem{Key: key}).Where(naiveLive, time.Now().UTC()).Take(&it).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(it.Value, dst)
}

func (k naiveKV) Set(key string, v *Item) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	exp := time.Now().UTC().Add(ttl)
	it := cache.CachedItem{Key: key, Value: b, ExpiresAt: &exp}
	return k.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "expires_at", "updated_at"}),
	}).Create(&it).Error
}

func (k naiveKV) Increment(key string, d int64) (int64, error) {
	var n int64
	err := k.db.Transaction(func(tx *gorm.DB) error {
		q := tx
		if k.pg {
			q = tx.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var it cache.CachedItem
		err := q.Where(&cache.CachedItem{Key: key}).Take(&it).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			n = d
			return tx.Create(&cache.CachedItem{Key: key, Value: cache.JSON(strconv.FormatInt(d, 10))}).Error
		}
		if err != nil {
			return err
		}
		if n, err = strconv.ParseInt(string(it.Value), 10, 64); err != nil {
			return err
		}
		n += d
		return tx.Model(&it).Update("value", cache.JSON(strconv.FormatInt(n, 10))).Error
	})
	return n, err
}

func (k naiveKV) GetMany(keys []string) (int, error) {
	var items []cache.CachedItem
	err := k.db.Where(map[string]any{"key": keys}).Where(naiveLive, time.Now().UTC()).Find(&items).Error
	if err != nil {
		return 0, err
	}
	out := make(map[string]Item, len(items))
	for _, it := range items {
		var v Item
		if err := json.Unmarshal(it.Value, &v); err != nil {
			return 0, err
		}
		out[it.Key] = v
	}
	return len(out), nil
}

// scsStore is what scs's sqlite3store and postgresstore offer.
type scsStore interface {
	Find(token string) ([]byte, bool, error)
	Commit(token string, b []byte, expiry time.Time) error
}

type scsKV struct{ s scsStore }

func newScsKV(db *sql.DB, pg bool) scsKV {
	if _, ok := db.Driver().(*gomysql.MySQLDriver); ok {
		return scsKV{mysqlstore.NewWithCleanupInterval(db, 0)}
	}
	if pg {
		return scsKV{postgresstore.NewWithCleanupInterval(db, 0)}
	}
	return scsKV{sqlite3store.NewWithCleanupInterval(db, 0)}
}

func (k scsKV) Get(key string, dst *Item) (bool, error) {
	b, ok, err := k.s.Find(key)
	if err != nil || !ok {
		return false, err
	}
	return true, json.Unmarshal(b, dst)
}

func (k scsKV) Set(key string, v *Item) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return k.s.Commit(key, b, time.Now().Add(ttl))
}

func (scsKV) Increment(string, int64) (int64, error) { return 0, errUnsupported }
func (scsKV) GetMany([]string) (int, error)          { return 0, errUnsupported }

// redisKV is go-redis on a local redis-server.
type redisKV struct {
	c   *redis.Client
	ctx context.Context
}

func (k redisKV) Get(key string, dst *Item) (bool, error) {
	b, err := k.c.Get(k.ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(b, dst)
}

func (k redisKV) Set(key string, v *Item) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return k.c.Set(k.ctx, key, b, ttl).Err()
}

func (k redisKV) Increment(key string, d int64) (int64, error) {
	return k.c.IncrBy(k.ctx, key, d).Result()
}

func (k redisKV) GetMany(keys []string) (int, error) {
	vals, err := k.c.MGet(k.ctx, keys...).Result()
	if err != nil {
		return 0, err
	}
	out := make(map[string]Item, len(keys))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var it Item
		if err := json.Unmarshal([]byte(s), &it); err != nil {
			return 0, fmt.Errorf("decode %q: %w", keys[i], err)
		}
		out[keys[i]] = it
	}
	return len(out), nil
}
