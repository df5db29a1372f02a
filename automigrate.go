package cache

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// MigrateOption changes what AutoMigrate does.
type MigrateOption func(*migrateOptions)

type migrateOptions struct {
	unlogged bool
}

// Unlogged makes AutoMigrate turn the table into an UNLOGGED table on
// PostgreSQL, which roughly halves the cost of writes: PostgreSQL writes no
// WAL for it. The price: the table is emptied after a server crash and is
// not replicated to standbys. A cache can usually pay it. Ignored on SQLite.
func Unlogged() MigrateOption {
	return func(o *migrateOptions) { o.unlogged = true }
}

// AutoMigrate creates the cached_items table and its indexes, and the
// cache_locks table of [Lock], or brings existing ones up to date. It is idempotent. On PostgreSQL it also sets the
// table's autovacuum_vacuum_scale_factor to 0.1, since cache rows churn.
func AutoMigrate(db *gorm.DB, opts ...MigrateOption) error {
	var o migrateOptions
	for _, opt := range opts {
		opt(&o)
	}
	if db == nil {
		return fmt.Errorf("cache: migrate: nil *gorm.DB")
	}
	d, err := dialect.For(db.Dialector.Name())
	if err != nil {
		return fmt.Errorf("cache: migrate: %w", err)
	}
	s := db.Session(&gorm.Session{NewDB: true})
	if err := s.AutoMigrate(&CachedItem{}, &lockRow{}); err != nil {
		return fmt.Errorf("cache: migrate: %w", err)
	}
	for _, q := range d.Migrations(o.unlogged) {
		if err := s.Exec(q).Error; err != nil {
			return fmt.Errorf("cache: migrate: %w", err)
		}
	}
	return nil
}
