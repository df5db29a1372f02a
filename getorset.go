package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"

	"github.com/gormcache/cache/internal/dialect"
)

// GetOrSet returns the live value under key, or calls compute, stores what
// it returns with the given expiry, and returns that. A stored null is a
// hit. When compute fails, its error is returned wrapped and nothing is
// stored.
//
// Concurrent misses of one key in one process call compute once (a flight);
// calls inside a transaction share no flight with calls outside it.
// Processes that miss at the same time may each call compute, but only the
// first value stored is kept, and every caller returns that one. Every
// caller, the one whose compute ran included, gets the stored JSON decoded
// into a zero T, as a later Get returns it: fields that JSON leaves out
// (json:"-", unexported) are zero for all of them.
//
// Each caller waits under its own context: a caller whose context is done
// returns at once with the context's error, and the others keep waiting.
// The flight's statements run on until the last waiting caller has gone.
// When compute fails after the context of its caller is done, the other
// callers do not take that error: the next one calls its own compute.
//
// When compute panics, GetOrSet ends its span with the error recorded and
// panics again with compute's own value in the caller whose compute it was
// (so http.ErrAbortHandler keeps its meaning); the other callers of the
// flight get an error wrapping [ErrPanicked], and the next call computes
// afresh.
//
// A compute that calls GetOrSet for its own key, with the same context as
// the call it serves (the db it captured, or a session of it with the same
// context), gets [ErrRecursive] instead of waiting for itself forever.
// Contexts that can never be done (context.Background, the context of a db
// without WithContext) are shared by unrelated callers, so such a loop is
// not detected and deadlocks.
//
// On a db with gorm.io/plugin/dbresolver, the flight's checks (before
// compute, and after another process stored first) read the source, so a
// lagging replica does not make compute run again.
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
	load := func() ([]byte, error) {
		val, err := compute()
		if err != nil {
			return nil, fmt.Errorf("compute: %w", err)
		}
		return encode(val)
	}
	raw, err := flights.do(&o, db.Statement.Context, newFlightKey(db, o.r.d.TableName, key), load, exp)
	if err == nil {
		var fresh T // decode into a zero T, as Get would
		if err = json.Unmarshal(raw, &fresh); err == nil {
			v = fresh
		} else {
			err = fmt.Errorf("decode: %w", err)
		}
	}
	return v, o.end(err)
}

// flightKey names the connection a call runs on (the pool, or the caller's
// transaction, which no other call may see into), the cache table and the
// key.
type flightKey struct {
	conn       uintptr
	table, key string
}

func newFlightKey(db *gorm.DB, table, key string) flightKey {
	return flightKey{conn: poolID(db), table: table, key: key}
}

// poolID names the connection pool (or transaction) of db: the same for
// every session of one pool, GORM's PrepareStmt included.
func poolID(db *gorm.DB) uintptr {
	var conn any = db.Statement.ConnPool
	if p, ok := conn.(*gorm.PreparedStmtDB); ok {
		conn = p.ConnPool // each session wraps the pool anew
	}
	// Pools and transactions are pointers; anything else shares one name.
	if v := reflect.ValueOf(conn); v.Kind() == reflect.Pointer {
		return v.Pointer()
	}
	return 0
}

// flights holds the GetOrSet computations in progress in this process. Its
// zero value is ready to use.
var flights flightGroup

type flightGroup struct {
	mu sync.Mutex
	m  map[flightKey]*flight
}

// flight is one computation of a key's value, shared by the callers that
// missed it while it runs.
type flight struct {
	key  flightKey
	done chan struct{} // closed when raw, err and retry are set
	// owner is the context of the call whose compute runs, to tell a call
	// made by that compute from another caller's.
	owner context.Context
	// cancel cancels the flight's statements, once nobody waits.
	cancel context.CancelFunc
	// waiting counts the callers that still want the result, under the
	// group's mutex.
	waiting int

	raw []byte
	err error
	// retry tells the callers still waiting to start again: compute failed
	// after its caller had gone, maybe because of that.
	retry bool
}

// do returns the stored JSON of o's key: what the flight in progress under
// fk returns, or what this call's load computes when there is none.
func (g *flightGroup) do(o *op, owner context.Context, fk flightKey, load func() ([]byte, error), exp []Expiration) ([]byte, error) {
	ctx := o.r.ctx
	for {
		g.mu.Lock()
		f, ok := g.m[fk]
		if !ok {
			break // with the mutex held
		}
		if sameContext(f.owner, owner) {
			g.mu.Unlock()
			return nil, ErrRecursive
		}
		f.waiting++
		g.mu.Unlock()
		select {
		case <-f.done:
			if f.retry {
				continue
			}
			return f.raw, f.err
		case <-ctx.Done():
			g.leave(f)
			return nil, ctx.Err()
		}
	}
	f := &flight{key: fk, done: make(chan struct{}), owner: owner, waiting: 1}
	// The flight's statements do not stop when this caller's context is
	// done, only when every caller has gone. WithoutCancel keeps the span.
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.cancel = cancel
	if g.m == nil {
		g.m = make(map[flightKey]*flight)
	}
	g.m[fk] = f
	g.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { g.leave(f) })

	finished := false
	defer func() {
		if finished {
			return
		}
		// compute panicked or called runtime.Goexit: no caller may wait
		// for this flight any longer.
		r := recover()
		err := fmt.Errorf("%w: %v", ErrPanicked, r)
		if r == nil {
			err = fmt.Errorf("%w: runtime.Goexit", ErrPanicked)
		}
		g.finish(f, nil, err, false)
		stop()
		_ = o.end(err) // GetOrSet does not return, so end its span here
		if r != nil {
			panic(r)
		}
	}()
	raw, err := fill(o, fctx, load, exp)
	finished = true
	// If this caller's context is done, a failed compute may have failed
	// because of it: the callers still waiting try again.
	g.finish(f, raw, err, err != nil && ctx.Err() != nil)
	stop()
	return raw, err
}

// fill runs the flight: it reads the source again (another process, or a
// flight that just ended, may have stored the value since the miss), calls
// load, and adds the result.
func fill(o *op, ctx context.Context, load func() ([]byte, error), exp []Expiration) ([]byte, error) {
	// A replica may lag behind a value just stored: read the source.
	src, err := newRunner(o.r.db.Session(&gorm.Session{}).Clauses(dbresolver.Write), ctx)
	if err != nil {
		return nil, err
	}
	s := *o
	s.r = src
	var raw json.RawMessage
	if hit, err := s.get(&raw); err != nil || hit {
		return raw, err
	}
	b, err := load()
	if err != nil {
		return nil, err
	}
	// Add, not Set: another process may have stored a value since the
	// miss, and then that value is the one every caller gets.
	n, err := s.storeCount(dialect.Add, b, exp)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		if hit, err := s.get(&raw); err != nil || hit {
			return raw, err
		}
	}
	return b, nil
}

// leave drops a caller that no longer waits; the last one cancels the
// flight's statements and removes the flight, so the next caller starts
// afresh instead of joining a cancelled flight.
func (g *flightGroup) leave(f *flight) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f.waiting--
	if f.waiting == 0 {
		f.cancel()
		if g.m[f.key] == f {
			delete(g.m, f.key)
		}
	}
}

// finish publishes the flight's result to its waiting callers.
func (g *flightGroup) finish(f *flight, raw []byte, err error, retry bool) {
	g.mu.Lock()
	if g.m[f.key] == f {
		delete(g.m, f.key)
	}
	g.mu.Unlock()
	f.raw, f.err, f.retry = raw, err, retry
	close(f.done)
	f.cancel()
}

// sameContext reports whether ctx is owner, for a context that can be done:
// one that cannot (context.Background) is shared by unrelated callers.
func sameContext(owner, ctx context.Context) bool {
	if ctx == nil || owner == nil || ctx.Done() == nil {
		return false
	}
	// Comparing interfaces panics on an uncomparable dynamic type.
	t := reflect.TypeOf(ctx)
	return t == reflect.TypeOf(owner) && t.Comparable() && ctx == owner
}
