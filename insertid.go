package cache

import "github.com/gormcache/cache/internal/dialect"

// MySQL has no RETURNING, and what an INSERT ... ON DUPLICATE KEY UPDATE
// reports as affected rows depends on the DSN: 1 for an inserted row, 2 for
// a changed one, and for a row left as it was 0, or 1 under
// clientFoundRows=true. The statements in internal/dialect/mysql.go make the
// OK packet's insert id tell the cases apart: 0 when no row was inserted and
// LAST_INSERT_ID(expr) was not called, the new row's id (never 0) when one
// was inserted, expr when it was called.

// touch runs Touch and reports whether a live row matched.
func (r runner) touch(at, now any, key string) (int64, error) {
	if !r.d.InsertID {
		return r.exec(r.d.Stmt(dialect.Touch), at, now, key, now)
	}
	_, id, err := r.execID(r.d.Stmt(dialect.Touch), at, now, key, now)
	if id != 0 {
		return 1, err
	}
	return 0, err
}

// addByInsertID runs Add on MySQL and returns 1 when it wrote: a changed
// row (a replaced expired entry), or an inserted one.
func (r runner) addByInsertID(s *dialect.Stmt, args ...any) (int64, error) {
	rows, id, err := r.execID(s, args...)
	if err != nil || !(rows == 2 || rows == 1 && id != 0) {
		return 0, err
	}
	return 1, nil
}

// incrementByInsertID runs Increment on MySQL. ok is false when no row
// changed: the increment was refused, or delta is 0 and the row was left as
// it was (or, under clientFoundRows, was inserted holding 0), which the
// caller tells apart by reading the value.
// s is Increment or IncrementTagged; args are its arguments.
func (r runner) incrementByInsertID(s *dialect.Stmt, delta int64, args ...any) (n int64, ok bool, err error) {
	rows, id, err := r.execID(s, args...)
	switch {
	case err != nil:
		return 0, false, err
	case rows == 2: // a changed row: LAST_INSERT_ID got the new value
		return id, true, nil
	case rows == 1 && id != 0 && delta != 0:
		// Inserted: with delta not 0 a kept row is a refused one, which
		// calls no LAST_INSERT_ID and reports id 0.
		return delta, true, nil
	}
	return 0, false, nil
}

// lockAcquire runs LockAcquire and reports whether owner holds the lock now.
// Elsewhere a refused upsert affects no row; on MySQL the insert id tells:
// 1 for a lock taken or renewed, 2 for one another owner holds, 0 for an
// inserted one (one affected row).
func (r runner) lockAcquire(name, owner string, at, now any) (bool, error) {
	if !r.d.InsertID {
		n, err := r.exec(r.d.Stmt(dialect.LockAcquire), name, owner, at, now)
		return n > 0, err
	}
	rows, id, err := r.execID(r.d.Stmt(dialect.LockAcquire), name, owner, at, now)
	return err == nil && (id == 1 || id == 0 && rows == 1), err
}

// lockExtend runs LockExtend and returns 1 when the owner held the lock,
// even if its expiry did not change (insert id 1 on MySQL).
func (r runner) lockExtend(at any, name, owner string, now any) (int64, error) {
	if !r.d.InsertID {
		return r.exec(r.d.Stmt(dialect.LockExtend), at, name, owner, now)
	}
	_, id, err := r.execID(r.d.Stmt(dialect.LockExtend), at, name, owner, now)
	if id != 0 {
		return 1, err
	}
	return 0, err
}
