package cache

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// lockRow is the row of one lock in table "cache_locks". Locks live in a
// table of their own, so no function on entries (Get, Stats, Clear, the
// scopes) ever sees one.
type lockRow struct {
	// Name holds a key-like name, or a Fetch lock's name, which adds
	// fetchLockPrefix to a key: hence 300 characters.
	Name       string    `gorm:"column:name;primaryKey;size:300"`
	Owner      string    `gorm:"column:owner;size:255;not null"`
	ExpiresAt  time.Time `gorm:"column:expires_at;not null;index"`
	AcquiredAt time.Time `gorm:"column:acquired_at;not null"`
}

// TableName returns "cache_locks".
func (lockRow) TableName() string { return dialect.LockTable }

// Lock is a named lock held in the database, so that it excludes other
// goroutines and other processes alike: at most one owner holds a name at a
// time, until it releases the lock or the lock's ttl runs out. A lock that
// ran out can be taken by another owner; the old owner's Release and Extend
// then return false. A Lock is the (name, owner) pair: a Lock is safe for
// concurrent use by multiple goroutines, but they all act as the same owner.
//
// Locks are rows of table cache_locks (made by [AutoMigrate]), not cache
// entries: Get, Stats, Clear and the scopes never see them. [ClearExpired]
// deletes locks that ran out. Each method is one SQL statement, run on the
// *gorm.DB the Lock was made with, with its context.
type Lock struct {
	db    *gorm.DB
	name  string
	owner string
	ttl   time.Duration
}

// NewLock returns the lock called name, held for ttl at each acquisition,
// with a new random owner token. Nothing is checked or written until it is
// used: a name that is not a valid key makes every method fail with
// [ErrInvalidKey], a ttl ≤ 0 with [ErrInvalidExpiration].
func NewLock(db *gorm.DB, name string, ttl time.Duration) *Lock {
	var b [16]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails
	return &Lock{db: db, name: name, owner: hex.EncodeToString(b[:]), ttl: ttl}
}

// RestoreLock returns the lock called name as owned by owner (the [Lock.Owner]
// of a lock made elsewhere), for example to release, from another process,
// a lock taken by a job that handed on its owner token. The owner is
// checked like a key.
func RestoreLock(db *gorm.DB, name, owner string, ttl time.Duration) *Lock {
	return &Lock{db: db, name: name, owner: owner, ttl: ttl}
}

// ForceReleaseLock releases the lock called name whoever holds it, and
// reports whether it was held.
func ForceReleaseLock(db *gorm.DB, name string) (bool, error) {
	o, err := start(db, "cache.lock.release", "force release lock", name, true)
	var n int64
	if err == nil {
		if err = checkKey(name); err == nil {
			n, err = o.r.exec(o.r.d.Stmt(dialect.LockForceRelease), name, clock())
		}
	}
	return n > 0, o.end(err)
}

// Name returns the lock's name.
func (l *Lock) Name() string { return l.name }

// Owner returns the lock's owner token.
func (l *Lock) Owner() string { return l.owner }

// TryAcquire tries once to take the lock, for the lock's ttl, and reports
// whether l's owner holds it now. It is true also when the owner already
// held it; then its expiry is renewed.
func (l *Lock) TryAcquire() (bool, error) {
	o, err := start(l.db, "cache.lock.acquire", "acquire lock", l.name, true)
	var ok bool
	if err == nil {
		ok, err = l.try(&o)
	}
	o.acquired(ok, 1)
	return ok, o.end(err)
}

// Acquire takes the lock, retrying until it succeeds or ctx is done; then it
// returns ctx's error. Statements run with ctx. Between attempts it waits
// 10 ms, then twice as long after each failed attempt, up to 1 s, each wait
// shortened by a random part of up to half, so that contenders spread out
// and a held lock costs each waiter at most about one statement a second.
func (l *Lock) Acquire(ctx context.Context) error {
	o, err := start(l.db.WithContext(ctx), "cache.lock.acquire", "acquire lock", l.name, true)
	attempts := 0
	ok := false
	wait := 10 * time.Millisecond
	for err == nil {
		attempts++
		if ok, err = l.try(&o); err != nil || ok {
			break
		}
		t := time.NewTimer(wait - time.Duration(rand.Int64N(int64(wait/2)+1)))
		select {
		case <-ctx.Done():
			t.Stop()
			err = ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
	o.acquired(ok, attempts)
	return o.end(err)
}

// Release releases the lock if l's owner still holds it, and reports
// whether it did. A lock that ran out is not held: Release returns false.
func (l *Lock) Release() (bool, error) {
	o, err := start(l.db, "cache.lock.release", "release lock", l.name, true)
	var n int64
	if err == nil {
		if err = l.check(l.ttl); err == nil {
			n, err = o.r.exec(o.r.d.Stmt(dialect.LockRelease), l.name, l.owner, clock())
		}
	}
	return n > 0, o.end(err)
}

// Extend makes the lock run out ttl from now if l's owner still holds it,
// and reports whether it did. Later acquisitions still use the ttl the
// Lock was made with.
func (l *Lock) Extend(ttl time.Duration) (bool, error) {
	o, err := start(l.db, "cache.lock.extend", "extend lock", l.name, true)
	var n int64
	if err == nil {
		if err = l.check(ttl); err == nil {
			now := clock()
			var at *time.Time
			if at, err = expiry(now, []Expiration{In(ttl)}); err == nil {
				o.expires(at)
				n, err = o.r.lockExtend(*at, l.name, l.owner, now)
			}
		}
	}
	return n > 0, o.end(err)
}

// try runs the acquiring upsert once.
func (l *Lock) try(o *op) (bool, error) {
	if err := l.check(l.ttl); err != nil {
		return false, err
	}
	now := clock()
	at, err := expiry(now, []Expiration{In(l.ttl)})
	if err != nil {
		return false, err
	}
	o.expires(at)
	return o.r.lockAcquire(l.name, l.owner, *at, now)
}

func (l *Lock) check(ttl time.Duration) error {
	if err := checkKey(l.name); err != nil {
		return err
	}
	if err := checkKey(l.owner); err != nil {
		return fmt.Errorf("owner: %w", err)
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: lock ttl %v is not positive", ErrInvalidExpiration, ttl)
	}
	return nil
}

// acquired records the outcome of an acquisition on the span.
func (o *op) acquired(ok bool, attempts int) {
	if o.span.IsRecording() {
		o.span.SetAttributes(attribute.Bool("cache.lock.acquired", ok), attribute.Int("cache.lock.attempts", attempts))
	}
}

// LockInfo describes a held lock.
type LockInfo struct {
	Name       string    `json:"name"`
	Owner      string    `json:"owner"`
	AcquiredAt time.Time `json:"acquired_at"` // when the owner took it, in UTC
	ExpiresAt  time.Time `json:"expires_at"`  // when it runs out unless extended, in UTC
}

// ListLocks returns the locks held now, by name. Locks that [Fetch] takes
// (with FetchOptions.Lock) are named "gormcache:fetch:" and the key, or
// with db.Table "gormcache:fetch@", the table, ":" and the key.
func ListLocks(db *gorm.DB) ([]LockInfo, error) {
	o, err := start(db, "cache.lock.list", "list locks", "", false)
	var out []LockInfo
	if err == nil {
		err = func() error {
			rows, err := o.r.query(o.r.d.Stmt(dialect.LockList), clock())
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var li LockInfo
				var exp, acq any
				if err := rows.Scan(&li.Name, &li.Owner, &exp, &acq); err != nil {
					return err
				}
				if li.ExpiresAt, err = scanTime(exp); err != nil {
					return err
				}
				if li.AcquiredAt, err = scanTime(acq); err != nil {
					return err
				}
				out = append(out, li)
			}
			return rows.Err()
		}()
	}
	if err != nil {
		out = nil
	}
	return out, o.end(err)
}
