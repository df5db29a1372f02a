package cache

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The scopes below filter CachedItem queries by expiry, on the statement's
// table: cached_items, or the one named with db.Table. "now" is taken from
// Go's clock in UTC and bound as a parameter, so SQLite (which compares
// times as text), PostgreSQL and MySQL agree. Use them with db.Scopes:
//
//	var n int64
//	db.Model(&cache.CachedItem{}).Scopes(cache.Expired).Count(&n)

// expiresAt is the expiry column of the statement's table. As a query
// argument GORM writes it as a quoted column name.
func expiresAt() clause.Column {
	return clause.Column{Table: clause.CurrentTable, Name: "expires_at"}
}

// Expired matches items whose expiry has passed (expires_at < now).
func Expired(db *gorm.DB) *gorm.DB {
	return db.Where(`? < ?`, expiresAt(), clock())
}

// Unexpired matches items with an expiry that has not passed yet
// (expires_at >= now). Items that never expire are not included.
func Unexpired(db *gorm.DB) *gorm.DB {
	return db.Where(`? >= ?`, expiresAt(), clock())
}

// Forever matches items that never expire (expires_at IS NULL).
func Forever(db *gorm.DB) *gorm.DB {
	return db.Where(`? IS NULL`, expiresAt())
}

// Live matches what reads see: items that never expire or have not expired.
func Live(db *gorm.DB) *gorm.DB {
	col := expiresAt()
	return db.Where(`(? IS NULL OR ? >= ?)`, col, col, clock())
}
