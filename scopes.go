package cache

import (
	"gorm.io/gorm"
)

// The scopes below filter CachedItem queries by expiry. "now" is taken from
// Go's clock in UTC and bound as a parameter, so SQLite (which compares times
// as text) and PostgreSQL agree. Use them with db.Scopes:
//
//	var n int64
//	db.Model(&cache.CachedItem{}).Scopes(cache.Expired).Count(&n)

// Expired matches items whose expiry has passed (expires_at < now).
func Expired(db *gorm.DB) *gorm.DB {
	return db.Where(`"cached_items"."expires_at" < ?`, clock())
}

// Unexpired matches items with an expiry that has not passed yet
// (expires_at >= now). Items that never expire are not included.
func Unexpired(db *gorm.DB) *gorm.DB {
	return db.Where(`"cached_items"."expires_at" >= ?`, clock())
}

// Forever matches items that never expire (expires_at IS NULL).
func Forever(db *gorm.DB) *gorm.DB {
	return db.Where(`"cached_items"."expires_at" IS NULL`)
}

// Live matches what reads see: items that never expire or have not expired.
func Live(db *gorm.DB) *gorm.DB {
	return db.Where(`("cached_items"."expires_at" IS NULL OR "cached_items"."expires_at" >= ?)`, clock())
}
