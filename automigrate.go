package cache

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/gormcache/cache/internal/dialect"
)

// MigrateOption changes what AutoMigrate does.
type MigrateOption func(*migrateOptions)

type migrateOptions struct {
	unlogged, logged bool
}

// Unlogged makes AutoMigrate turn the table into an UNLOGGED table on
// PostgreSQL, which roughly halves the cost of writes: PostgreSQL writes no
// WAL for it. The price: the table is emptied after a server crash and is
// not replicated to standbys. A cache can usually pay it. Ignored on SQLite
// and MySQL. [Logged] undoes it.
func Unlogged() MigrateOption {
	return func(o *migrateOptions) { o.unlogged = true }
}

// Logged makes AutoMigrate turn an UNLOGGED table (see [Unlogged]) back into
// an ordinary one on PostgreSQL, which rewrites the table and writes it to
// the WAL. It cannot be combined with Unlogged. Ignored on SQLite.
func Logged() MigrateOption {
	return func(o *migrateOptions) { o.logged = true }
}

// AutoMigrate creates the cache table and its indexes, and the table
// cache_locks of [Lock], or brings existing ones up to date. It is idempotent. The table is cached_items, or
// the one named with db.Table (see [ErrInvalidTable] for the names
// accepted): AutoMigrate(db.Table("sessions_cache")) makes a second,
// independent cache in the same database. On PostgreSQL it also sets the
// table's autovacuum_vacuum_scale_factor to 0.1, since cache rows churn. On
// MySQL it gives the key column a binary NO PAD collation, so that keys
// compare byte for byte whatever the server's default collation, and creates
// a stored procedure that makes a tagged Set one round trip (skipped without
// the CREATE ROUTINE privilege: tagged Sets then take several). On SQLite
// it creates two triggers on the table, which keep the side table of tags
// in line with the entries' tags (see [WithTags]).
func AutoMigrate(db *gorm.DB, opts ...MigrateOption) error {
	var o migrateOptions
	for _, opt := range opts {
		opt(&o)
	}
	if db == nil {
		return errors.New("cache: migrate: nil *gorm.DB")
	}
	if o.unlogged && o.logged {
		return errors.New("cache: migrate: Unlogged and Logged cannot be combined")
	}
	base, err := dialect.For(db.Dialector.Name())
	if err != nil {
		return fmt.Errorf("cache: migrate: %w", err)
	}
	if err := checkSession(db.Statement); err != nil {
		return fmt.Errorf("cache: migrate: %w", err)
	}
	d, err := tableFor(base, db.Statement)
	if err != nil {
		return fmt.Errorf("cache: migrate: %w", err)
	}
	s := db.Session(&gorm.Session{NewDB: true})
	if d.TableName != dialect.Table {
		s = s.Table(d.TableName).Session(&gorm.Session{}) // reusable for each step
	}
	if err := s.AutoMigrate(&CachedItem{}); err != nil {
		return fmt.Errorf("cache: migrate %s: %w", d.TableName, err)
	}
	if q, args := d.KeyMigration(); q != "" {
		if err := alterBy(s, q, args...); err != nil {
			return fmt.Errorf("cache: migrate: %w", err)
		}
	}
	for _, q := range d.Migrations(o.unlogged) {
		if err := s.Exec(q).Error; err != nil {
			return fmt.Errorf("cache: migrate %s: %w", d.TableName, err)
		}
	}
	// The tags' side table, created once (a second AutoMigrate changes
	// nothing).
	if qs := d.TagMigrations(o.unlogged); len(qs) > 0 && !s.Migrator().HasTable(d.TagsTableName()) {
		for _, q := range qs {
			if err := s.Exec(q).Error; err != nil {
				return fmt.Errorf("cache: migrate %s: %w", d.TagsTableName(), err)
			}
		}
	}
	if err := createProc(s, d); err != nil {
		return fmt.Errorf("cache: migrate %s: %w", d.ProcName(), err)
	}
	if creates, count, args := d.TagTriggers(); len(creates) > 0 {
		var n int
		if err := s.Raw(count, args...).Scan(&n).Error; err != nil {
			return fmt.Errorf("cache: migrate %s: %w", d.TagsTableName(), err)
		}
		for _, q := range creates {
			if n == len(creates) {
				break // all there: a second AutoMigrate creates nothing
			}
			if err := s.Exec(q).Error; err != nil {
				return fmt.Errorf("cache: migrate %s: %w", d.TagsTableName(), err)
			}
		}
	}
	if q := dialect.SetLogged(d.Name); o.logged && q != "" {
		if err := s.Exec(q, clause.Table{Name: d.TableName}).Error; err != nil {
			return fmt.Errorf("cache: migrate %s: %w", d.TableName, err)
		}
	}
	// One table of locks per database, whatever the cache table.
	ls := db.Session(&gorm.Session{NewDB: true})
	if err := ls.AutoMigrate(&lockRow{}); err != nil {
		return fmt.Errorf("cache: migrate %s: %w", dialect.LockTable, err)
	}
	if q := d.LockMigration(); q != "" {
		if err := alterBy(ls, q); err != nil {
			return fmt.Errorf("cache: migrate %s: %w", dialect.LockTable, err)
		}
	}
	return nil
}

// alterBy runs the query q (KeyMigration's or LockMigration's), which returns
// an ALTER TABLE statement or no row, and then that statement.
func alterBy(s *gorm.DB, q string, args ...any) error {
	var alter string
	if err := s.Raw(q, args...).Scan(&alter).Error; err != nil {
		return err
	}
	if alter == "" {
		return nil
	}
	return s.Exec(alter).Error
}

// createProc creates, on MySQL, the procedure of tagged Sets when it does
// not exist (see dialect.SetTaggedProcedure). A server that does not let the
// user create routines leaves tagged Sets on their several round trips, as
// does a key column in a collation other than the binary ones AutoMigrate
// gives: neither fails the migration.
func createProc(s *gorm.DB, d *dialect.Dialect) error {
	q, args := d.ProcCheck()
	if q == "" {
		return nil
	}
	var found struct {
		Collation string
		Found     int
	}
	if err := s.Raw(q, args...).Scan(&found).Error; err != nil {
		return err
	}
	create := d.SetTaggedProcedure(found.Collation)
	if found.Found > 0 || create == "" {
		return nil
	}
	err := s.Exec(create).Error
	if err != nil && strings.Contains(err.Error(), "Error 1295 ") {
		// GORM's PrepareStmt prepares every statement, and CREATE
		// PROCEDURE cannot be prepared: run it on the pool directly.
		var db *sql.DB
		if db, err = s.DB(); err == nil {
			_, err = db.ExecContext(s.Statement.Context, create)
		}
	}
	if err != nil && (procExists(err) || accessDenied(err)) {
		return nil
	}
	return err
}

// procExists reports MySQL's 1304: another process created the procedure
// first.
func procExists(err error) bool { return strings.Contains(err.Error(), "Error 1304 ") }

// accessDenied reports MySQL's refusals for want of a privilege (1044,
// 1142, 1227), here CREATE ROUTINE.
func accessDenied(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Error 1044 ") || strings.Contains(s, "Error 1142 ") || strings.Contains(s, "Error 1227 ")
}
