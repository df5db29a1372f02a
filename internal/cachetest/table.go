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

// RequireTableInCore skips the test, with a message, while the cache
// operations (Set, Get, Stats, ...) ignore db.Table and work on
// cached_items whatever the session names. The inspection API (List,
// Inspect, Measure) already follows db.Table; the tests of the CLI's
// --table and the admin page's Options.Table that need the rest wait for
// it. Remove this guard once the core honours db.Table everywhere.
func RequireTableInCore(t testing.TB, other *gorm.DB) {
	t.Helper()
	const probe = "cachetest:table-probe"
	if err := cache.Cached(other, probe).Set(1); err != nil {
		t.Fatalf("probe db.Table: %v", err)
	}
	var n int64
	if err := other.Model(&cache.CachedItem{}).Where(`"key" = ?`, probe).Count(&n).Error; err != nil {
		t.Fatalf("probe db.Table: %v", err)
	}
	_ = other.Where(`"key" = ?`, probe).Delete(&cache.CachedItem{}).Error
	if n == 0 {
		_, _ = cache.Cached(other, probe).Delete() // from cached_items, where it went
		t.Skip("the core's operations ignore db.Table yet: this test waits for them")
	}
}
