package cache

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// FetchOptions configures [Fetch]. The zero value loads on every miss,
// stores values that never expire and serves nothing old: GetOrSet's
// behaviour. Durations must not be negative.
type FetchOptions struct {
	// TTL is how long a loaded value is fresh. 0: it never expires.
	TTL time.Duration
	// Stale is how long after TTL Fetch still returns the old value at
	// once, refreshing it in the background: one refresh per key at a
	// time in this process (and across processes with Lock).
	Stale time.Duration
	// FailSafe is how long after TTL the old value may stand in for a
	// load that fails or times out: Fetch then returns it with a nil error.
	FailSafe time.Duration
	// FailSafeRetry is how long after such a failure Fetch serves the old
	// value without calling the loader for that key again (in this
	// process). Defaults to 5 seconds: a broken upstream sees one call per
	// key every 5 seconds instead of one per request.
	FailSafeRetry time.Duration
	// SoftTimeout, with an old value at hand (within FailSafe), bounds how
	// long a caller waits for a load: past it the caller gets the old
	// value, and the load goes on in the background and stores its result.
	SoftTimeout time.Duration
	// HardTimeout bounds a load: past it the loader's context is cancelled
	// and the caller gets the old value under FailSafe, else an error
	// wrapping context.DeadlineExceeded.
	HardTimeout time.Duration
	// Lock makes one load per key across processes: the loading caller
	// holds the database lock "gormcache:fetch:<key>" (see [Lock]; with
	// db.Table, "gormcache:fetch@<table>:<key>") for
	// HardTimeout plus 5 seconds, or 30 seconds without a HardTimeout.
	// Ignored inside a transaction, whose writes others cannot see.
	Lock bool
	// LockWait is how long a caller waits for another process's load,
	// polling the entry, before it serves an old value (within Stale or
	// FailSafe) or else loads itself. Defaults to the lock's duration.
	LockWait time.Duration
	// Jitter spreads expiries so that entries loaded together do not expire
	// together: the stored TTL is TTL × a random factor in [1-Jitter, 1].
	// It must be within [0, 1].
	Jitter float64
	// FailOpen makes Fetch call the loader and return its value with a nil
	// error when the database fails (the error is recorded on the
	// cache.fetch span), instead of returning the database's error.
	FailOpen bool
}

// Fetch returns the value under key, calling load when there is none fresh,
// and storing what it returns for opts.TTL. It is [GetOrSet] for values
// that are slow or fail to load: beyond TTL, an entry is expired for every
// other function of this package (Get, Exists, Stats, the scopes), but
// Fetch may still serve it: at once during opts.Stale while a refresh runs
// in the background, and in place of a failed or slow load during
// opts.FailSafe. [ClearExpired] keeps such entries until neither applies.
//
// The loader's context derives from db's (pass db.WithContext(ctx)) and is
// cancelled at opts.HardTimeout. When load fails and no old value can
// stand in, its error is returned wrapped and nothing is stored.
//
// Concurrent Fetches of one key through one connection pool make one load;
// with opts.Lock, Fetches in other processes (or through other pools) wait
// for it too, through a database lock. Inside a transaction Fetch starts no
// background work: it neither serves stale values nor takes locks, and
// stores the value in the transaction.
//
// The cache.fetch span has the attribute cache.hit (a fresh value was
// found) and cache.stale (an old value was returned).
func Fetch[T any](db *gorm.DB, key string, load func(ctx context.Context) (T, error), opts FetchOptions) (T, error) {
	var v T
	o, err := start(db, "cache.fetch", "fetch", key, true)
	if err == nil {
		err = checkFetch(key, &opts)
	}
	if err == nil && load == nil {
		err = errors.New("nil load function")
	}
	if err != nil {
		return v, o.end(err)
	}
	// The hit and the stale hit, the most common, allocate no fetcher
	// unless a refresh starts: the value is decoded into v from the row.
	tx := inTransaction(db)
	stale := opts.Stale
	if tx {
		stale = 0 // no background work in a transaction
	}
	fr, err := readFetch(o.r, key, &v, stale)
	if err == nil && fr.live {
		if o.span.IsRecording() {
			o.span.SetAttributes(attribute.Bool("cache.hit", true))
		}
		return v, o.end(nil)
	}
	var id flightKey
	if err == nil {
		id = newFlightKey(db, o.r.d.TableName, key)
	}
	newFetcher := func() *fetcher {
		f := &fetcher{o: o, db: db, opts: opts, flightID: id}
		f.found, f.oldRaw, f.oldAt = fr.found, fr.raw, fr.expiredAt
		f.load = func(ctx context.Context) (any, []byte, error) {
			val, err := load(ctx)
			if err != nil {
				return nil, nil, err
			}
			b, err := encode(val)
			return val, b, err
		}
		return f
	}
	if err == nil && fr.stale {
		// Within Stale: serve the old value, refreshing it once at a time.
		if !failedRecently(id) && !flying(id) {
			newFetcher().flight(true)
		}
		if o.span.IsRecording() {
			o.span.SetAttributes(attribute.Bool("cache.hit", false), attribute.Bool("cache.stale", true))
		}
		return v, o.end(nil)
	}
	res, err := newFetcher().run(err, tx)
	if err == nil {
		if val, ok := res.val.(T); ok {
			v = val
		} else if res.raw != nil {
			var fresh T // decode into a zero T, as Get would
			if err = json.Unmarshal(res.raw, &fresh); err == nil {
				v = fresh
			} else {
				err = fmt.Errorf("decode: %w", err)
			}
		}
	}
	if o.span.IsRecording() {
		o.span.SetAttributes(attribute.Bool("cache.hit", res.hit))
		if res.stale {
			o.span.SetAttributes(attribute.Bool("cache.stale", true))
		}
	}
	return v, o.end(err)
}

const (
	defaultFailSafeRetry = 5 * time.Second
	// fetchLockPrefix starts the names of Fetch's locks.
	fetchLockPrefix = "gormcache:fetch:"
	// A Fetch lock outlives the load's HardTimeout by fetchLockMargin, or
	// lasts fetchLockTTL without one.
	fetchLockMargin = 5 * time.Second
	fetchLockTTL    = 30 * time.Second
)

func checkFetch(key string, opts *FetchOptions) error {
	if err := checkKey(key); err != nil {
		return err
	}
	for _, d := range []time.Duration{opts.TTL, opts.Stale, opts.FailSafe, opts.FailSafeRetry,
		opts.SoftTimeout, opts.HardTimeout, opts.LockWait} {
		if d < 0 {
			return fmt.Errorf("%w: negative duration %v in FetchOptions", ErrInvalidExpiration, d)
		}
	}
	if !(opts.Jitter >= 0 && opts.Jitter <= 1) { // NaN fails both
		return fmt.Errorf("%w: jitter %v is not within [0, 1]", ErrInvalidExpiration, opts.Jitter)
	}
	if opts.FailSafeRetry == 0 {
		opts.FailSafeRetry = defaultFailSafeRetry
	}
	return nil
}

// fetchResult is what a Fetch returns: a value as loaded (val) or as JSON
// (raw).
type fetchResult struct {
	val   any
	raw   []byte
	hit   bool // a fresh value was found
	stale bool // an old value was returned
}

// fetcher is one Fetch call.
type fetcher struct {
	o    op
	db   *gorm.DB
	opts FetchOptions
	load func(ctx context.Context) (any, []byte, error)

	// Set by the first read.
	found    bool      // the key has a row
	oldRaw   []byte    // its value, when expired
	oldAt    time.Time // when it expired
	flightID flightKey
}

// fetchRow is the state of the key's row as read.
type fetchRow struct {
	found, live bool
	stale       bool // expired at most the stale duration ago, and decoded
	raw         []byte
	expiredAt   time.Time
}

// readFetch reads the key's row: its value, and whether it is live or when
// it expired. With dst, a live value, or one that expired at most stale
// ago, is decoded into dst and not kept.
func readFetch(r runner, key string, dst any, stale time.Duration) (fetchRow, error) {
	var fr fetchRow
	now := clock()
	var (
		rows rows
		err  error
	)
	if r.d.FetchReadsAll() {
		rows, err = r.query(r.d.Stmt(dialect.FetchGet), key)
	} else {
		rows, err = r.query(r.d.Stmt(dialect.FetchGet), now, key)
	}
	if err != nil {
		return fr, err
	}
	defer rows.Close()
	if !rows.Next() {
		return fr, rows.Err()
	}
	// One allocation for both destinations, which escape into Scan.
	var dst2 struct {
		raw sql.RawBytes
		exp any
	}
	if err := rows.Scan(&dst2.raw, &dst2.exp); err != nil {
		return fr, err
	}
	raw, exp := dst2.raw, dst2.exp
	fr.found, fr.live = true, exp == nil
	if !fr.live {
		at, err := scanTime(exp)
		if err != nil {
			return fr, err
		}
		// Live as Get has it, expiring at or after now: SQLite returns
		// every entry's expiry (dialect.Dialect.FetchReadsAll).
		if fr.live = !at.Before(now); !fr.live {
			fr.expiredAt = at
			fr.stale = dst != nil && stale > 0 && now.Sub(at) <= stale
		}
	}
	if dst != nil && (fr.live || fr.stale) {
		if err := json.Unmarshal(raw, dst); err != nil {
			return fr, fmt.Errorf("decode: %w", err)
		}
	} else {
		fr.raw = append([]byte(nil), raw...)
	}
	return fr, rows.Close()
}

// within reports whether an old value exists that expired at most d ago.
func (f *fetcher) within(d time.Duration) bool {
	return f.found && d > 0 && clock().Sub(f.oldAt) <= d
}

// old returns the old value as a stale result.
func (f *fetcher) old() fetchResult {
	return fetchResult{raw: f.oldRaw, stale: true}
}

// run goes on from the first read of the row, which found no value to
// serve (none live, none within Stale) or failed with err. tx tells whether
// db runs in a transaction.
func (f *fetcher) run(err error, tx bool) (fetchResult, error) {
	if err != nil {
		if !f.opts.FailOpen {
			return fetchResult{}, err
		}
		return f.failOpen(err)
	}
	if f.within(f.opts.FailSafe) && failedRecently(f.flightID) {
		return f.old(), nil
	}
	if tx {
		return f.inTx()
	}
	c, started := f.flight(false)
	res, err := f.wait(c)
	if !started {
		res.val = nil // decode a value of its own, as GetOrSet does
	}
	return res, err
}

// failOpen loads without the database after it failed with dbErr.
func (f *fetcher) failOpen(dbErr error) (fetchResult, error) {
	f.o.span.RecordError(dbErr)
	ctx, cancel := f.loadContext(f.o.r.ctx)
	defer cancel()
	val, raw, err := f.load(ctx)
	if err != nil {
		return fetchResult{}, fmt.Errorf("load: %w", err)
	}
	return fetchResult{val: val, raw: raw}, nil
}

// loadContext returns the loader's context: parent, cancelled at HardTimeout.
func (f *fetcher) loadContext(parent context.Context) (context.Context, context.CancelFunc) {
	if f.opts.HardTimeout > 0 {
		return context.WithTimeout(parent, f.opts.HardTimeout)
	}
	return context.WithCancel(parent)
}

// inTx loads in the caller's transaction, in the foreground.
func (f *fetcher) inTx() (fetchResult, error) {
	ctx, cancel := f.loadContext(f.o.r.ctx)
	defer cancel()
	val, raw, err := f.load(ctx)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		if f.within(f.opts.FailSafe) {
			f.o.span.RecordError(err)
			return f.old(), nil
		}
		return fetchResult{}, fmt.Errorf("load: %w", err)
	}
	if err := f.store(f.o.r, raw); err != nil {
		return fetchResult{}, err
	}
	return fetchResult{val: val, raw: raw}, nil
}
