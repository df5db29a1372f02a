package cache

import (
	"context"
	"errors"
	"fmt"
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
// for a WAL flush; 5000 on MySQL, each a range of the expires_at index that starts where the
// last one ended. It stops between batches when db's context is done.
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
		// Before any time MySQL's DATETIME holds.
		after := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
		for {
			upTo, found, err := clearBound(r, &bound, after, now)
			if err != nil {
				return total, err
			}
			if !found { // the rest fits in one batch
				upTo = now.Add(-time.Microsecond)
			}
			n, err := r.exec(&del, after, upTo, now)
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

// clearBound returns the expiry of the last row of the next batch after
// after, and false when fewer rows than a batch remain.
func clearBound(r runner, s *dialect.Stmt, after, now time.Time) (time.Time, bool, error) {
	rows, err := r.query(s, after, now, r.d.ClearBatch-1)
	if err != nil {
		return time.Time{}, false, err
	}
	defer rows.Close()
	var t time.Time
	found := rows.Next()
	if found {
		err = rows.Scan(&t)
	}
	if err == nil {
		err = finish(&rows)
	}
	return t.UTC(), found, err
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
