package cache

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/gormcache/cache/internal/dialect"
)

// JSON is an encoded JSON value as stored in the value column: jsonb on
// PostgreSQL, TEXT on SQLite. It marshals to itself, so a CachedItem encodes
// its value as JSON rather than as base64.
type JSON []byte

// Value implements driver.Valuer. It sends the JSON as text, which both
// SQLite's TEXT and PostgreSQL's jsonb columns take.
func (j JSON) Value() (driver.Value, error) {
	if j == nil {
		return nil, nil
	}
	return string(j), nil
}

// Scan implements sql.Scanner. It copies the bytes it is given.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append((*j)[:0], v...)
	case string:
		*j = append((*j)[:0], v...)
	default:
		return fmt.Errorf("cache: cannot scan %T into JSON", src)
	}
	return nil
}

// MarshalJSON returns j itself, or null when j is empty.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}

// UnmarshalJSON stores a copy of data.
func (j *JSON) UnmarshalJSON(data []byte) error {
	if j == nil {
		return errors.New("cache: UnmarshalJSON on nil *JSON")
	}
	*j = append((*j)[:0], data...)
	return nil
}

// GormDataType implements schema.GormDataTypeInterface.
func (JSON) GormDataType() string { return "json" }

// GormDBDataType implements migrator.GormDataTypeInterface: jsonb on
// PostgreSQL, TEXT on SQLite.
func (JSON) GormDBDataType(db *gorm.DB, _ *schema.Field) string {
	return dialect.JSONType(db.Dialector.Name())
}

// CachedItem is one cache entry, the row of table "cached_items". It is a
// plain GORM model: query it with the scopes [Expired], [Unexpired],
// [Forever] and [Live], for example
//
//	db.Scopes(cache.Expired).Find(&items)
//
// Write entries through [Cached] and the other functions of this package,
// which keep keys unique and times in UTC.
type CachedItem struct {
	ID int64 `gorm:"primaryKey"`
	// Key is unique and at most 255 characters long.
	Key string `gorm:"size:255;not null;uniqueIndex"`
	// Value is the JSON encoding of the cached value.
	Value JSON `gorm:"not null"`
	// ExpiresAt is when the entry expires, in UTC; nil means never.
	ExpiresAt *time.Time `gorm:"index"`
	CreatedAt time.Time  `gorm:"not null"`
	UpdatedAt time.Time  `gorm:"not null"`
	// KeepUntil is set by [Fetch]: the entry may be served stale or
	// fail-safe until then, so ClearExpired keeps it until then. Every
	// other read treats the entry as expired at ExpiresAt.
	KeepUntil *time.Time
}

// TableName returns "cached_items".
func (CachedItem) TableName() string { return dialect.Table }

// IsExpired reports whether the item had expired at now.
func (c *CachedItem) IsExpired(now time.Time) bool {
	return c.ExpiresAt != nil && c.ExpiresAt.Before(now)
}
