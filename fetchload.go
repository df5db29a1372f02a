package cache

// Fetch's loads: the in-process flights, the database lock that makes one
// load across processes, storing the result, waiting for another caller's
// load, and the fail-safe pause after a failure.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// fetchCall is one load of a key through one connection pool, shared by
// the Fetches that wait for it.
type fetchCall struct {
	done  chan struct{}
	start time.Time
	// loading is closed when the loader is called, at loadAt (after the
	// lock and a second look at the row), loaded when it returns.
	loading, loaded chan struct{}
	loadAt          time.Time
	// hardAt, guarded by fetchFlights.mu, is when HardTimeout cancels the
	// load: later callers start a load of their own rather than wait for
	// this one to give up.
	hardAt time.Time
	// detach stops the first caller's context from cancelling the load;
	// called when that caller stops waiting for it.
	detach func() bool
	// Set before done is closed.
	res   fetchResult
	err   error
	dbErr error // a database error that FailOpen passed over
}

// fetchFlights holds the loads in progress, by flight key.
var fetchFlights struct {
	mu sync.Mutex
	m  map[flightKey]*fetchCall
}

// flight joins the key's load in progress or starts one. A background
// load (a stale refresh) is not cancelled by any caller; a foreground one
// is cancelled with its first caller's context until detached.
func (f *fetcher) flight(background bool) (c *fetchCall, started bool) {
	fetchFlights.mu.Lock()
	if c := fetchFlights.m[f.flightID]; c != nil && (c.hardAt.IsZero() || time.Now().Before(c.hardAt)) {
		fetchFlights.mu.Unlock()
		return c, false
	}
	c = &fetchCall{done: make(chan struct{}), loading: make(chan struct{}), loaded: make(chan struct{}), start: time.Now()}
	if fetchFlights.m == nil {
		fetchFlights.m = make(map[flightKey]*fetchCall)
	}
	fetchFlights.m[f.flightID] = c
	fetchFlights.mu.Unlock()

	// The load outlives the caller when it is in the background or passes
	// SoftTimeout, so it keeps the caller's context values (trace, ...) but
	// not its cancellation, which is forwarded until detached.
	ctx, cancel := context.WithCancel(context.WithoutCancel(f.o.r.ctx))
	c.detach = func() bool { return true }
	if !background {
		c.detach = context.AfterFunc(f.o.r.ctx, cancel)
	}
	go func() {
		defer cancel()
		c.res, c.err, c.dbErr = f.loadAndStore(ctx, background, c)
		c.detach()
		if c.err != nil {
			recordFailure(f.flightID, f.opts.FailSafeRetry)
		} else {
			forgetFailure(f.flightID)
		}
		fetchFlights.mu.Lock()
		if fetchFlights.m[f.flightID] == c {
			delete(fetchFlights.m, f.flightID)
		}
		fetchFlights.mu.Unlock()
		close(c.done)
	}()
	return c, true
}

// flying reports whether a load of the key under id is in progress.
func flying(id flightKey) bool {
	fetchFlights.mu.Lock()
	defer fetchFlights.mu.Unlock()
	c := fetchFlights.m[id]
	return c != nil && (c.hardAt.IsZero() || time.Now().Before(c.hardAt))
}

// errUseOld tells waiters to serve the old value.
var errUseOld = errors.New("another process is loading")

// loadAndStore takes the key's lock (with opts.Lock), loads and stores. ctx
// is the load's context, before HardTimeout.
func (f *fetcher) loadAndStore(ctx context.Context, background bool, c *fetchCall) (res fetchResult, err, dbErr error) {
	r := f.o.r.withContext(ctx)
	if f.opts.Lock {
		var l *Lock
		l, res, err = f.lock(r, background)
		if err != nil {
			if !f.opts.FailOpen || errors.Is(err, errUseOld) {
				return res, err, nil
			}
			l, dbErr, err = nil, err, nil
		}
		if res.raw != nil {
			return res, nil, nil
		}
		if l != nil {
			defer func() {
				// The release must run even after HardTimeout cancelled
				// the load.
				if _, rerr := RestoreLock(f.db.WithContext(context.WithoutCancel(ctx)), l.name, l.owner, l.ttl).Release(); rerr != nil && dbErr == nil && err == nil {
					dbErr = rerr
				}
			}()
		}
	}
	// Another caller may have stored a value since this one read the row.
	if fr, rerr := readFetch(r, f.o.key, nil, 0); rerr == nil && fr.live {
		return fetchResult{raw: fr.raw, hit: true}, nil, dbErr
	} else if rerr != nil {
		if !f.opts.FailOpen {
			return res, rerr, nil
		}
		dbErr = rerr
	}
	c.loadAt = time.Now()
	if f.opts.HardTimeout > 0 {
		fetchFlights.mu.Lock()
		c.hardAt = c.loadAt.Add(f.opts.HardTimeout)
		fetchFlights.mu.Unlock()
	}
	close(c.loading)
	lctx, cancel := f.loadContext(ctx)
	defer cancel()
	val, raw, err := f.load(lctx)
	close(c.loaded)
	if err == nil && lctx.Err() != nil && ctx.Err() == nil {
		err = lctx.Err() // HardTimeout passed: the value is too late
	}
	if err != nil {
		return res, fmt.Errorf("load: %w", err), dbErr
	}
	// The store is not cut short by HardTimeout.
	if serr := f.store(r.withContext(context.WithoutCancel(ctx)), raw); serr != nil {
		if !f.opts.FailOpen {
			return res, serr, dbErr
		}
		dbErr = serr
	}
	return fetchResult{val: val, raw: raw}, nil, dbErr
}

// lock takes the key's database lock, or waits for the value that another
// process is loading under it: it returns that value (res.raw), or the lock
// (then the caller loads), or nil and no value when LockWait ran out and
// the caller should load without the lock, or errUseOld.
func (f *fetcher) lock(r runner, background bool) (*Lock, fetchResult, error) {
	ttl := fetchLockTTL
	if f.opts.HardTimeout > 0 {
		ttl = f.opts.HardTimeout + fetchLockMargin
	}
	l := NewLock(f.db.WithContext(r.ctx), fetchLockName(f.o.r.d.TableName, f.o.key), ttl)
	ok, err := l.TryAcquire()
	if err != nil || ok {
		return l, fetchResult{}, err
	}
	if background { // another process is refreshing it
		return nil, fetchResult{}, errUseOld
	}
	wait := f.opts.LockWait
	if wait == 0 {
		wait = ttl
	}
	deadline := time.Now().Add(wait)
	pause := 5 * time.Millisecond
	for time.Now().Before(deadline) {
		t := time.NewTimer(min(pause, time.Until(deadline)))
		select {
		case <-r.ctx.Done():
			t.Stop()
			return nil, fetchResult{}, r.ctx.Err()
		case <-t.C:
		}
		pause = min(pause*3/2, 100*time.Millisecond)
		fr, err := readFetch(r, f.o.key, nil, 0)
		if err != nil {
			return nil, fetchResult{}, err
		}
		if fr.live {
			return nil, fetchResult{raw: fr.raw, hit: true}, nil
		}
		// The holder may have failed: then take over.
		if ok, err := l.TryAcquire(); err != nil || ok {
			return l, fetchResult{}, err
		}
	}
	if f.within(max(f.opts.Stale, f.opts.FailSafe)) {
		return nil, fetchResult{}, errUseOld
	}
	return nil, fetchResult{}, nil
}

// store writes the loaded value with the expiry and keep-until time of
// opts.
func (f *fetcher) store(r runner, raw []byte) error {
	now := clock()
	var exp, keep any
	if ttl := f.opts.TTL; ttl > 0 {
		if j := f.opts.Jitter; j > 0 {
			ttl = time.Duration(float64(ttl) * (1 - j*rand.Float64()))
		}
		at, err := expiry(now, []Expiration{In(ttl)})
		if err != nil {
			return err
		}
		f.o.expires(at)
		exp = *at
		if extra := max(f.opts.Stale, f.opts.FailSafe); extra > 0 {
			k := at.Add(extra)
			if extra > maxExpiry.Sub(*at) || k.After(maxExpiry) {
				k = maxExpiry
			}
			keep = k
		}
	}
	nowArg := any(now)
	_, err := r.exec(r.d.Stmt(dialect.FetchSet), f.o.key, string(raw), exp, keep, nowArg, nowArg)
	return err
}

// wait waits for c as opts allow: until SoftTimeout with an old value at
// hand, HardTimeout, or the caller's context.
func (f *fetcher) wait(c *fetchCall) (fetchResult, error) {
	var soft, hard <-chan time.Time
	canServeOld := f.within(f.opts.FailSafe)
	if d := f.opts.SoftTimeout; d > 0 && canServeOld {
		t := time.NewTimer(time.Until(c.start.Add(d)))
		defer t.Stop()
		soft = t.C
	}
	// HardTimeout runs from the loader's call to its return; then the
	// caller waits for the store.
	loading, loaded := c.loading, c.loaded
	for {
		select {
		case <-loading:
			loading = nil
			if d := f.opts.HardTimeout; d > 0 {
				t := time.NewTimer(time.Until(c.loadAt.Add(d)))
				defer t.Stop()
				hard = t.C
			}
		case <-loaded:
			loaded, hard = nil, nil
		case <-c.done:
			if c.dbErr != nil {
				f.o.span.RecordError(c.dbErr)
			}
			switch {
			case errors.Is(c.err, errUseOld) && f.found:
				return f.old(), nil
			case c.err != nil && canServeOld:
				f.o.span.RecordError(c.err)
				return f.old(), nil
			case c.err != nil:
				return fetchResult{}, c.err
			}
			return c.res, nil
		case <-soft:
			c.detach()
			return f.old(), nil
		case <-hard:
			fetchFlights.mu.Lock()
			if fetchFlights.m[f.flightID] == c {
				delete(fetchFlights.m, f.flightID)
			}
			fetchFlights.mu.Unlock()
			err := fmt.Errorf("load: %w", context.DeadlineExceeded)
			if canServeOld {
				f.o.span.RecordError(err)
				return f.old(), nil
			}
			return fetchResult{}, err
		case <-f.o.r.ctx.Done():
			return fetchResult{}, f.o.r.ctx.Err()
		}
	}
}

// inTransaction reports whether db runs in a transaction.
func inTransaction(db *gorm.DB) bool {
	_, ok := db.Statement.ConnPool.(gorm.TxCommitter)
	return ok
}

// fetchFailures holds, by flight key, until when a failed load's key is not
// loaded again (FailSafeRetry), while an old value can be served.
var fetchFailures struct {
	mu sync.Mutex
	m  map[flightKey]time.Time
}

// maxFailures bounds fetchFailures: past it, entries whose time has passed
// are dropped.
const maxFailures = 4096

func recordFailure(id flightKey, retry time.Duration) {
	fetchFailures.mu.Lock()
	defer fetchFailures.mu.Unlock()
	if fetchFailures.m == nil {
		fetchFailures.m = make(map[flightKey]time.Time)
	}
	now := time.Now()
	if len(fetchFailures.m) >= maxFailures {
		for k, t := range fetchFailures.m {
			if now.After(t) {
				delete(fetchFailures.m, k)
			}
		}
	}
	if len(fetchFailures.m) < maxFailures {
		fetchFailures.m[id] = now.Add(min(retry, 100*365*24*time.Hour))
	}
}

func forgetFailure(id flightKey) {
	fetchFailures.mu.Lock()
	defer fetchFailures.mu.Unlock()
	delete(fetchFailures.m, id)
}

// failedRecently reports whether the key's last load failed less than its
// FailSafeRetry ago.
func failedRecently(id flightKey) bool {
	fetchFailures.mu.Lock()
	defer fetchFailures.mu.Unlock()
	t, ok := fetchFailures.m[id]
	if ok && time.Now().After(t) {
		delete(fetchFailures.m, id)
		return false
	}
	return ok
}

// fetchLockName returns the name of Fetch's lock for key in the cache table:
// fetchLockPrefix and the key for the default table, and for another
// "gormcache:fetch@", the table, ":" and the key (a table's name has no
// colon), so that two tables sharing a key share no lock. A name longer
// than a key may be is the same start and the SHA-256 of the rest.
func fetchLockName(table, key string) string {
	start, rest := fetchLockPrefix, key
	if table != dialect.Table {
		start, rest = "gormcache:fetch@", table+":"+key
	}
	if n := start + rest; len(n) <= MaxKeyLength || utf8.RuneCountInString(n) <= MaxKeyLength {
		return n
	}
	sum := sha256.Sum256([]byte(rest))
	return start + "sha256:" + hex.EncodeToString(sum[:])
}
