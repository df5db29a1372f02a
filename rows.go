package cache

import (
	"database/sql"
	"fmt"
)

// rows is what a query returned: a *sql.Rows on the direct path, or the
// rows that GORM's Query callbacks scanned, on the path through GORM. It has
// the methods of *sql.Rows that this package uses.
type rows struct {
	*sql.Rows // nil for buffered rows
	buf       []resultRow
	cols      []string // names of the columns, for Scan of buf
	i         int      // buf[i-1] is the current row
}

// resultRow holds any row of a cache statement: each column is named after
// one of its fields (dialect.Stmt.Cols).
type resultRow struct {
	Key       string `gorm:"column:key"`
	Value     JSON   `gorm:"column:value"`
	N         int64  `gorm:"column:n"`
	Total     int64  `gorm:"column:total"`
	Expired   int64  `gorm:"column:expired"`
	Unexpired int64  `gorm:"column:unexpired"`
	Forever   int64  `gorm:"column:forever"`
	Tags      JSON   `gorm:"column:tags"`
	ID        int64  `gorm:"column:id"`
	Cut       string `gorm:"column:cut"`
	Size      int64  `gorm:"column:size"`
	// Fetch's and locks' columns; times as text (see scanTime).
	ExpiredAt  sql.NullString `gorm:"column:expired_at"`
	Name       string         `gorm:"column:name"`
	Owner      string         `gorm:"column:owner"`
	ExpiresAt  sql.NullString `gorm:"column:expires_at"`
	AcquiredAt sql.NullString `gorm:"column:acquired_at"`
}

func (r *rows) Next() bool {
	if r.Rows != nil {
		return r.Rows.Next()
	}
	if r.i >= len(r.buf) {
		return false
	}
	r.i++
	return true
}

func (r *rows) Err() error {
	if r.Rows != nil {
		return r.Rows.Err()
	}
	return nil
}

func (r *rows) Close() error {
	if r.Rows != nil {
		return r.Rows.Close()
	}
	r.i = len(r.buf)
	return nil
}

// Scan copies the current row's columns into dest, which take the types
// this package scans into: *sql.RawBytes, *[]byte, *string, *int64, and
// *any for times (a string or nil).
func (r *rows) Scan(dest ...any) error {
	if r.Rows != nil {
		return r.Rows.Scan(dest...)
	}
	if r.i == 0 || r.i > len(r.buf) || len(dest) != len(r.cols) {
		return fmt.Errorf("scan: %d destinations for %d columns, or no row", len(dest), len(r.cols))
	}
	row := &r.buf[r.i-1]
	for i, d := range dest {
		var b []byte
		var n int64
		var t sql.NullString
		switch r.cols[i] {
		case "key":
			b = []byte(row.Key)
		case "value":
			b = row.Value
		case "n":
			n = row.N
		case "total":
			n = row.Total
		case "expired":
			n = row.Expired
		case "unexpired":
			n = row.Unexpired
		case "forever":
			n = row.Forever
		case "tags":
			b = row.Tags
		case "id":
			n = row.ID
		case "cut":
			b = []byte(row.Cut)
		case "size":
			n = row.Size
		case "name":
			b = []byte(row.Name)
		case "owner":
			b = []byte(row.Owner)
		case "expired_at":
			t = row.ExpiredAt
		case "expires_at":
			t = row.ExpiresAt
		case "acquired_at":
			t = row.AcquiredAt
		}
		switch d := d.(type) {
		case *sql.RawBytes:
			*d = b
		case *[]byte:
			*d = append((*d)[:0], b...)
		case *string:
			*d = string(b)
		case *int64:
			*d = n
		case *any:
			*d = nil
			if t.Valid {
				*d = t.String
			}
		default:
			return fmt.Errorf("scan: cannot scan into %T", d)
		}
	}
	return nil
}
