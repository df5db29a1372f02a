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
// PostgreSQL, TEXT on SQLite, JSON on MySQL (LONGTEXT on MariaDB). It marshals to itself, so a CachedItem encodes
// its value as JSON rather than as base64.
type JSON []byte

// Value implements driver.Valuer. It sends the JSON as text, which SQLite's
// TEXT, PostgreSQL's jsonb and MySQL's JSON columns all take.
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
// PostgreSQL, TEXT on SQLite, JSON on MySQL.
func (JSON) GormDBDataType(db *gorm.DB, _ *schema.Field) string {
	return dialect.JSONType(db.Dialector.Name())
}

// CachedItem is one cache entry, the row of the cache table: "cached_items",
// or the table a session names with db.Table. It is a plain GORM model:
// query it with the scopes [Expired], [Unexpired], [Forever] and [Live], for
// example
//
//	db.Scopes(cache.Expired).Find(&items)
//
// Write entries through [Cached] and the other functions of this package,
// which keep keys unique and times in UTC. Entries written through the model
// (Create, Save, Updates) get their times in UTC from its hooks.
//
// Its column names are pinned with column tags, so every NamingStrategy
// (NoLowerCase, SingularTable, a custom schema.Namer) gives the same
// columns. Its table is named by TableName, which GORM takes as it is:
// like any model with a TableName method, the table gets no TablePrefix.
// Use db.Table("app_cached_items") for a prefixed or schema-qualified table.
type CachedItem struct {
	ID int64 `gorm:"column:id;primaryKey"`
	// Key is unique and at most 255 characters long.
	Key string `gorm:"column:key;size:255;not null;uniqueIndex"`
	// Value is the JSON encoding of the cached value.
	Value JSON `gorm:"column:value;not null"`
	// ExpiresAt is when the entry expires, in UTC; nil means never.
	ExpiresAt *time.Time `gorm:"column:expires_at;index"`
	// CreatedAt and UpdatedAt are set in UTC by the hooks (GORM's own
	// automatic times would take the local zone of NowFunc).
	CreatedAt time.Time `gorm:"column:created_at;not null;autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"column:updated_at;not null;autoUpdateTime:false"`
	// Tags are the entry's tags as a JSON array of distinct strings in
	// byte order, or nil when it has none (see [WithTags]). Write them only
	// through the functions of this package, which keep the tags table in
	// line.
	Tags JSON `gorm:"column:tags"`

	// KeepUntil is set by [Fetch]: the entry may be served stale or
	// fail-safe until then, so ClearExpired keeps it until then. Every
	// other read treats the entry as expired at ExpiresAt.
	KeepUntil *time.Time `gorm:"column:keep_until"`
}

// TableName returns "cached_items".
func (CachedItem) TableName() string { return dialect.Table }

// BeforeSave is a GORM hook: it turns the item's times into UTC, since
// SQLite compares times as text and a time in another zone would sort
// wrongly against the UTC times the cache writes. It also converts times
// in the column values of Updates with a map and of Update.
func (c *CachedItem) BeforeSave(tx *gorm.DB) error {
	if c.ExpiresAt != nil {
		t := c.ExpiresAt.UTC()
		c.ExpiresAt = &t
	}
	if c.KeepUntil != nil {
		t := c.KeepUntil.UTC()
		c.KeepUntil = &t
	}
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	if m, ok := tx.Statement.Dest.(map[string]any); ok {
		for k, v := range m {
			switch v := v.(type) {
			case time.Time:
				m[k] = v.UTC()
			case *time.Time:
				if v != nil {
					t := v.UTC()
					m[k] = &t
				}
			}
		}
	}
	return nil
}

// BeforeCreate is a GORM hook: it sets CreatedAt and UpdatedAt to now, in
// UTC, where they are zero.
func (c *CachedItem) BeforeCreate(*gorm.DB) error {
	now := time.Now().UTC()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = now
	}
	return nil
}

// BeforeUpdate is a GORM hook: it sets UpdatedAt to now, in UTC.
func (c *CachedItem) BeforeUpdate(tx *gorm.DB) error {
	tx.Statement.SetColumn("UpdatedAt", time.Now().UTC(), true)
	return nil
}

// IsExpired reports whether the item had expired at now.
func (c *CachedItem) IsExpired(now time.Time) bool {
	return c.ExpiresAt != nil && c.ExpiresAt.Before(now)
}
