package cachetest

import (
	"testing"

	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// OtherTable creates a second cache table, name, beside cached_items in
// db's database (with GORM's AutoMigrate of the model, so that it needs
// nothing of the cache package), drops it when the test ends, and returns
// db.Table(name) as a session to reuse.
func OtherTable(t testing.TB, db *gorm.DB, name string) *gorm.DB {
	t.Helper()
	other := db.Table(name).Session(&gorm.Session{})
	if err := other.AutoMigrate(&cache.CachedItem{}); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	t.Cleanup(func() { _ = db.Migrator().DropTable(name) })
	return other
}
