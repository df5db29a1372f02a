package cache

import (
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The scopes below filter CachedItem queries by expiry. "now" is taken from
// Go's clock in UTC and bound as a parameter, so SQLite (which compares times
// as text), PostgreSQL and MySQL agree. Use them with db.Scopes:
//
//	var n int64
//	db.Model(&cache.CachedItem{}).Scopes(cache.Expired).Count(&n)

// expiresAt is the current table's expires_at column, quoted by the
// dialector (double quotes, or MySQL's backticks).
func expiresAt() clause.Column {
	return clause.Column{Table: clause.CurrentTable, Name: "expires_at"}
}

// Expired matches items whose expiry has passed (expires_at < now).
func Expired(db *gorm.DB) *gorm.DB {
	return db.Where(clause.Lt{Column: expiresAt(), Value: time.Now().UTC()})
}

// Unexpired matches items with an expiry that has not passed yet
// (expires_at >= now). Items that never expire are not included.
func Unexpired(db *gorm.DB) *gorm.DB {
	return db.Where(clause.Gte{Column: expiresAt(), Value: time.Now().UTC()})
}

// Forever matches items that never expire (expires_at IS NULL).
func Forever(db *gorm.DB) *gorm.DB {
	return db.Where(clause.Eq{Column: expiresAt(), Value: nil})
}

// Live matches what reads see: items that never expire or have not expired.
func Live(db *gorm.DB) *gorm.DB {
	return db.Where(clause.Or(clause.Eq{Column: expiresAt(), Value: nil},
		clause.Gte{Column: expiresAt(), Value: time.Now().UTC()}))
}
