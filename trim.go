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

// Limits bounds the cache table for [Trim]. The zero value sets no limit:
// Trim then only deletes expired entries.
type Limits struct {
	// MaxEntries is the most entries to keep; 0: no limit.
	MaxEntries int64
	// MaxBytes bounds the key bytes plus value bytes as stored, summed
	// over the entries (the JSON text on SQLite and MariaDB; the jsonb
	// datum, compressed when large, on PostgreSQL; the JSON column's LENGTH
	// on MySQL); 0: no limit.
	MaxBytes int64
	// MaxAge deletes entries not written for longer; 0: no limit.
	MaxAge time.Duration
}

func (l Limits) validate() error {
	if l.MaxEntries < 0 || l.MaxBytes < 0 || l.MaxAge < 0 {
		return fmt.Errorf("limits %+v: negative", l)
	}
	return nil
}

// Trim deletes entries until the table holds to limits, and returns how
// many it deleted. It deletes, in this order: expired entries; entries not
// written for longer than MaxAge; then the least recently written (by
// UpdatedAt, then ID) until both MaxEntries and MaxBytes hold. Reads never
// count as writes: a hit changes nothing. Like [ClearExpired] it deletes in
// batches, each its own short statement, so writers wait at most one
// batch, and it stops between batches when db's context is done. Entries
// written while it runs are newer than any it deletes and stay, so the
// table may end slightly above the limits. It also deletes the rows of the
// tags table that no entry carries any more.
//
// Call it from a periodic job or run [RunTrim].
func Trim(db *gorm.DB, limits Limits) (int64, error) {
	o, err := start(db, "cache.trim", "trim", "", false)
	var total int64
	if err == nil {
		if err = limits.validate(); err == nil {
			total, err = o.trim(limits)
		}
	}
	if o.span.IsRecording() {
		o.span.SetAttributes(attribute.Int64("cache.deleted", total))
	}
	return total, o.end(err)
}

func (o *op) trim(l Limits) (int64, error) {
	now := clock()
	// Expired entries first, as ClearExpired deletes them (those Fetch may
	// still serve stale are kept).
	total, err := clearExpired(o.r, now)
	if err != nil {
		return total, err
	}
	batch := o.r.d.ClearBatch
	// The age limit, then the cutoff below which entries go: the newest
	// entry beyond MaxEntries or MaxBytes, counted from the newest.
	var ageLimit time.Time // year 1: keeps every entry
	if l.MaxAge > 0 {
		ageLimit = now.Add(-l.MaxAge)
	}
	cut, cutID := "", int64(0)
	if l.MaxEntries > 0 || l.MaxBytes > 0 {
		maxN, maxB := int64(math.MaxInt64), int64(math.MaxInt64)
		if l.MaxEntries > 0 {
			maxN = l.MaxEntries
		}
		if l.MaxBytes > 0 {
			maxB = l.MaxBytes
		}
		var err error
		if cut, cutID, err = o.trimCutoff(ageLimit, maxN, maxB); err != nil {
			return total, err
		}
	}
	if l.MaxAge > 0 || cut != "" {
		if cut == "" {
			// Before every entry, as text on every database (MySQL's
			// DATETIME takes no offset).
			cut = "0001-01-01 00:00:00+00:00"
			if o.r.d.InsertID {
				cut = "0001-01-01 00:00:00"
			}
		}
		n, err := o.trimBatches(ageLimit, cut, cutID, batch)
		total += n
		if err != nil {
			return total, err
		}
	}
	// Side rows of tags that no entry carries any more: deleted entries'
	// and those of entries rewritten without the tag.
	for {
		n, err := o.r.exec(o.r.d.Stmt(dialect.TagsSweep), batch)
		if err != nil {
			return total, err
		}
		if n < int64(batch) {
			break
		}
	}
	return total, nil
}

// trimCutoff returns the cutoff entry's updated_at (as text) and id; ""
// when the entries already hold to the limits.
func (o *op) trimCutoff(ageLimit time.Time, maxN, maxB int64) (string, int64, error) {
	var rows rows
	var err error
	if maxB == math.MaxInt64 {
		rows, err = o.r.query(o.r.d.Stmt(dialect.TrimCutoffCount), ageLimit, maxN)
	} else {
		rows, err = o.r.query(o.r.d.Stmt(dialect.TrimCutoff), ageLimit, maxN, maxB)
	}
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	if !rows.Next() {
		return "", 0, rows.Err()
	}
	var cut string
	var id int64
	if err := rows.Scan(&cut, &id); err != nil {
		return "", 0, err
	}
	return cut, id, rows.Close()
}

// trimBatches walks the table by id, batch ids at a time, deleting in
// each range the entries older than ageLimit or at or before the cutoff.
// Each batch is one statement that reads only its range of the primary key.
func (o *op) trimBatches(ageLimit time.Time, cut string, cutID int64, batch int) (int64, error) {
	var total int64
	lo := int64(0) // ids start at 1
	for {
		hi, more, err := o.queryInt(o.r.d.Stmt(dialect.TrimNextID), lo, batch-1)
		if err != nil {
			return total, err
		}
		if !more {
			hi = math.MaxInt64
		}
		n, err := o.r.exec(o.r.d.Stmt(dialect.TrimBatch), lo, hi, ageLimit, cut, cut, cutID)
		total += n
		if err != nil || !more || o.r.dryRun() {
			return total, err
		}
		lo = hi
	}
}

// RunTrim calls Trim with limits at once and then every interval, until
// ctx is done; then it returns nil. It blocks: start it in a goroutine,
// which the caller owns. A failed run is reported to db's GORM logger and
// retried at the next tick. It returns an error only for an interval that
// is not positive or negative limits.
func RunTrim(ctx context.Context, db *gorm.DB, every time.Duration, limits Limits) error {
	if every <= 0 {
		return fmt.Errorf("cache: run trim: interval %v is not positive", every)
	}
	if db == nil {
		return errors.New("cache: run trim: nil *gorm.DB")
	}
	if err := limits.validate(); err != nil {
		return fmt.Errorf("cache: run trim: %w", err)
	}
	db = db.WithContext(ctx)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := Trim(db, limits); err != nil && ctx.Err() == nil {
			db.Logger.Error(ctx, "%v", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
