package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// ClearExpired deletes expired entries and returns how many it deleted.
// An entry that [Fetch] may still serve stale or fail-safe is kept until it
// may not. Expired locks are deleted too (they are not counted).
// Reads never delete, so expired entries stay in the table until this runs;
// call it from a periodic job (or run [RunClearExpired]). It deletes in
// batches, each its own statement, so that writers wait at most one batch:
// 1000 rows on SQLite, whose write lock a batch holds; 10,000 on
// PostgreSQL, where only the deleted rows are locked and every commit waits
// for a WAL flush; 2500 on MySQL, each a range of the expires_at index
// that starts where the last one ended (InnoDB locks every row it deletes
// until the commit). It stops between batches when db's context is done.
func ClearExpired(db *gorm.DB) (int64, error) {
	o, err := start(db, "cache.clear_expired", "clear expired", "", false)
	var total int64
	if err == nil {
		_, err = o.r.exec(o.r.d.Stmt(dialect.LockPrune), clock())
	}
	if err == nil {
		total, err = clearExpired(o.r, clock())
	}
	if o.span.IsRecording() {
		o.span.SetAttributes(attribute.Int64("cache.deleted", total))
	}
	return total, o.end(err)
}

// clearExpired deletes the rows expired at now in batches (ClearExpired
// and Trim), except those Fetch may still serve.
func clearExpired(r runner, now time.Time) (int64, error) {
	var total int64
	if bound, del, ok := r.d.ClearRange(); ok {
		// Before any row: no time MySQL's DATETIME holds is earlier.
		after := rowAt{at: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}
		// The last expired time DATETIME(6) holds: expires_at < now is
		// expires_at <= last. A bound with more digits than the column
		// keeps MariaDB from ending its index range there (it scanned
		// every live row after the expired ones).
		last := now.Add(-time.Nanosecond).Truncate(time.Microsecond)
		for {
			upTo, found, err := clearBound(r, &bound, after, last)
			if err != nil {
				return total, err
			}
			if !found { // the rest fits in one batch
				upTo = rowAt{at: last, id: math.MaxInt64}
			}
			n, err := r.exec(&del, after.at, after.at, after.id, upTo.at, upTo.at, upTo.id, now, r.d.ClearBatch)
			total += n
			if err != nil || !found {
				return total, err
			}
			after = upTo
		}
	}
	s, args := r.d.Stmt(dialect.ClearExpiredBatch), r.d.ClearArgs(now)
	for {
		n, err := r.exec(s, args...)
		total += n
		if err != nil || n < int64(r.d.ClearBatch) {
			return total, err
		}
	}
}

// rowAt is a row's place in the order of the expires_at index.
type rowAt struct {
	at time.Time
	id int64
}

// clearBound returns the place of the last row of the next batch after
// after, among rows expiring at last or before, and false when fewer rows
// than a batch remain.
func clearBound(r runner, s *dialect.Stmt, after rowAt, last time.Time) (rowAt, bool, error) {
	rows, err := r.query(s, after.at, after.at, after.id, last, r.d.ClearBatch-1)
	if err != nil {
		return rowAt{}, false, err
	}
	defer rows.Close()
	var p rowAt
	var at any // a time.Time, or text when read through GORM
	found := rows.Next()
	if found {
		err = rows.Scan(&at, &p.id)
	}
	if err == nil && found {
		p.at, err = scanTime(at)
	}
	if err == nil {
		err = finish(&rows)
	}
	return p, found, err
}

// RunClearExpired calls ClearExpired at once and then every interval, until
// ctx is done; then it returns nil. It blocks: start it in a goroutine, which
// the caller owns. A failed run is reported to db's GORM logger and retried
// at the next tick. It returns an error only for an interval that is not
// positive.
func RunClearExpired(ctx context.Context, db *gorm.DB, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("cache: run clear expired: interval %v is not positive", every)
	}
	if db == nil {
		return errors.New("cache: run clear expired: nil *gorm.DB")
	}
	db = db.WithContext(ctx)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := ClearExpired(db); err != nil && ctx.Err() == nil {
			db.Logger.Error(ctx, "%v", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Statistics counts the entries in the cache table by [Status]. Live is
// Unexpired plus Forever; Total is Live plus Expired.
type Statistics struct {
	Total     int64 // all entries
	Live      int64 // what reads see: unexpired or forever
	Unexpired int64 // with an expiry still to come
	Expired   int64 // expired, not yet cleared
	Forever   int64 // that never expire
}

// Stats counts the entries, in one query.
func Stats(db *gorm.DB) (Statistics, error) {
	o, err := start(db, "cache.stats", "stats", "", false)
	var st Statistics
	if err == nil {
		err = func() error {
			now := clock()
			rows, err := o.r.query(o.r.d.Stmt(dialect.Stats), now, now)
			if err != nil {
				return err
			}
			defer rows.Close()
			if rows.Next() {
				if err := rows.Scan(&st.Total, &st.Expired, &st.Unexpired, &st.Forever); err != nil {
					return err
				}
				st.Live = st.Unexpired + st.Forever
			}
			if err := rows.Err(); err != nil {
				return err
			}
			return rows.Close()
		}()
	}
	return st, o.end(err)
}
