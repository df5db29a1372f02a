package cachecli

import (
	"database/sql"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	cache "github.com/gormcache/cache"
)

// This file holds the package's only switch on the database: the table's
// size on disk, which the core library has no function for. (The value
// size expression is internal/dialect's ValueSize.)

// diskSize is how much disk the cache takes, as far as the database tells.
type diskSize struct {
	Bytes int64
	// Of is "table" (the table with its indexes and TOAST) or "database"
	// (the whole SQLite file, when SQLite is built without the dbstat
	// table).
	Of string
}

// sizeOnDisk returns the cache table's size on disk, or nil when the
// database does not tell it.
func sizeOnDisk(db *gorm.DB) (*diskSize, error) {
	table := cache.CachedItem{}.TableName()
	var n sql.NullInt64
	switch db.Dialector.Name() {
	case "postgres", "pgx":
		// to_regclass resolves the name through search_path, like the
		// queries of the core library do.
		err := db.Raw(`SELECT pg_total_relation_size(to_regclass(?))`, table).Scan(&n).Error
		if err != nil {
			return nil, fmt.Errorf("size of table %q: %w", table, err)
		}
		if !n.Valid {
			return nil, nil
		}
		return &diskSize{Bytes: n.Int64, Of: "table"}, nil
	case "sqlite", "sqlite3":
		// dbstat exists only in SQLite built with SQLITE_ENABLE_DBSTAT_VTAB
		// (go-sqlite3's build tag sqlite_dbstat).
		err := db.Raw(`SELECT SUM("pgsize") FROM "dbstat" WHERE "name" IN `+
			`(SELECT "name" FROM "sqlite_master" WHERE "tbl_name" = ?)`, table).Scan(&n).Error
		if err == nil && n.Valid {
			return &diskSize{Bytes: n.Int64, Of: "table"}, nil
		}
		var pages, pageSize, free int64
		for _, p := range []struct {
			pragma string
			dst    *int64
		}{{"page_count", &pages}, {"page_size", &pageSize}, {"freelist_count", &free}} {
			if err := db.Raw(`PRAGMA ` + p.pragma).Scan(p.dst).Error; err != nil {
				return nil, fmt.Errorf("size of database: %w", err)
			}
		}
		return &diskSize{Bytes: (pages - free) * pageSize, Of: "database"}, nil
	case "mysql":
		err := db.Raw("SELECT `DATA_LENGTH` + `INDEX_LENGTH` FROM `information_schema`.`TABLES` "+
			"WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = ?", table).Scan(&n).Error
		if err != nil {
			return nil, fmt.Errorf("size of table %q: %w", table, err)
		}
		if !n.Valid {
			return nil, nil
		}
		return &diskSize{Bytes: n.Int64, Of: "table"}, nil
	default:
		return nil, nil
	}
}

// column is a column of the cache table, quoted by the dialector (double
// quotes, or MySQL's backticks).
func column(name string) clause.Column {
	return clause.Column{Table: clause.CurrentTable, Name: name}
}
