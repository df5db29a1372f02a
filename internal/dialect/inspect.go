package dialect

// This file holds the SQL of the inspection API (cache.List, cache.Inspect,
// cache.Measure): fragments that the root package hands to GORM's query
// builder, which names the table (cached_items, or the session's
// db.Table). Columns are unqualified for that reason.

// KeyContains is a condition that a key contains a LIKE pattern (the
// parameter, with a backslash as its escape character, already in lower
// case), ignoring ASCII case and nothing else on every database: SQLite's
// lower() folds ASCII only, PostgreSQL's folds by the collation, so there
// translate() folds A-Z alone.
func KeyContains(name string) string {
	if isMySQL(name) {
		// LOWER would fold more than ASCII; the key column's collation is
		// binary, so REPLACE folds A-Z alone. LIKE's escape character is
		// the backslash by default (a literal '\\' would depend on
		// NO_BACKSLASH_ESCAPES).
		return mysqlASCIILowerKey + " LIKE ?"
	}
	if isPostgres(name) {
		return `translate("key", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') LIKE ? ESCAPE '\'`
	}
	return `lower("key") LIKE ? ESCAPE '\'`
}

// ListColumns selects what a list shows of each entry: everything but the
// value, whose size it measures instead: the length in bytes of the value
// as JSON text, as the database gives it back (PostgreSQL's jsonb has no
// length of its own, so it is measured as text).
func ListColumns(name string) string {
	if isMySQL(name) {
		return "`id`, `key`, `expires_at`, `created_at`, `updated_at`, LENGTH(`value`) AS `size`"
	}
	if isPostgres(name) {
		return `"id", "key", "expires_at", "created_at", "updated_at", octet_length(CAST("value" AS text)) AS "size"`
	}
	return `"id", "key", "expires_at", "created_at", "updated_at", length(CAST("value" AS BLOB)) AS "size"`
}

// SumValueSize selects the total size of the values, as ListColumns
// measures each.
func SumValueSize(name string) string {
	if isMySQL(name) {
		return "CAST(COALESCE(SUM(LENGTH(`value`)), 0) AS SIGNED)"
	}
	if isPostgres(name) {
		return `COALESCE(SUM(octet_length(CAST("value" AS text))), 0)`
	}
	return `COALESCE(SUM(length(CAST("value" AS BLOB))), 0)`
}

// TableDiskSize returns a query for the size on disk of the table named by
// its one parameter, with its indexes (and on PostgreSQL its TOAST table),
// or "" when the database cannot tell. The query returns NULL for a table
// it does not find, and fails on SQLite built without the dbstat table
// (SQLITE_ENABLE_DBSTAT_VTAB; go-sqlite3's build tag sqlite_dbstat).
func TableDiskSize(name string) string {
	switch {
	case isPostgres(name):
		// to_regclass resolves the name through search_path, as the
		// other statements do; each part of "schema.table" is quoted, so
		// that its case is kept.
		return `SELECT pg_total_relation_size(to_regclass(array_to_string(ARRAY(` +
			`SELECT quote_ident("part") FROM unnest(string_to_array(?, '.')) AS "part"), '.')))`
	case isMySQL(name):
		// "schema.table" names the database, else the connection's.
		return "SELECT t.`DATA_LENGTH` + t.`INDEX_LENGTH` FROM `information_schema`.`TABLES` t, (SELECT ? AS `n`) p " +
			"WHERE t.`TABLE_SCHEMA` = IF(LOCATE('.', p.`n`) > 0, SUBSTRING_INDEX(p.`n`, '.', 1), DATABASE()) " +
			"AND t.`TABLE_NAME` = SUBSTRING_INDEX(p.`n`, '.', -1)"
	case isSQLite(name):
		return `SELECT SUM("pgsize") FROM "dbstat" WHERE "name" IN ` +
			`(SELECT "name" FROM "sqlite_master" WHERE "tbl_name" = ?)`
	}
	return ""
}

// DatabaseDiskSize returns a query for the size of the whole database in
// use, free pages left out, for SQLite without dbstat; "" elsewhere.
func DatabaseDiskSize(name string) string {
	if isSQLite(name) {
		return `SELECT ("page_count" - "freelist_count") * "page_size" ` +
			`FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()`
	}
	return ""
}

func isPostgres(name string) bool { return name == "postgres" || name == "pgx" }

func isSQLite(name string) bool { return name == "sqlite" || name == "sqlite3" }

// The fragments below are written once per quoting: double quotes, or
// MySQL's backticks (name is the dialector's name).

// IsLive, IsUnexpired, IsExpired and IsForever are conditions on an
// entry's expiry at now, the bound parameter. They match the scopes of the
// root package and CachedItem.IsExpired.
func IsLive(name string) string {
	if isMySQL(name) {
		return "(`expires_at` IS NULL OR `expires_at` >= ?)"
	}
	return `("expires_at" IS NULL OR "expires_at" >= ?)`
}

// IsUnexpired: see IsLive.
func IsUnexpired(name string) string {
	if isMySQL(name) {
		return "`expires_at` >= ?"
	}
	return `"expires_at" >= ?`
}

// IsExpired: see IsLive.
func IsExpired(name string) string {
	if isMySQL(name) {
		return "`expires_at` < ?"
	}
	return `"expires_at" < ?`
}

// IsForever: see IsLive.
func IsForever(name string) string {
	if isMySQL(name) {
		return "`expires_at` IS NULL"
	}
	return `"expires_at" IS NULL`
}

// Before and NewestFirst page keyset-wise: entries newest first by ID, the
// primary key, so that every page is an index range whatever the table's
// size.
func Before(name string) string {
	if isMySQL(name) {
		return "`id` < ?"
	}
	return `"id" < ?`
}

// NewestFirst: see Before.
func NewestFirst(name string) string {
	if isMySQL(name) {
		return "`id` DESC"
	}
	return `"id" DESC`
}

// KeyIs matches the entry under a key, the parameter.
func KeyIs(name string) string {
	if isMySQL(name) {
		return "`key` = ?"
	}
	return `"key" = ?`
}

// ExpiresAt selects the expiry column.
func ExpiresAt(name string) string {
	if isMySQL(name) {
		return "`expires_at`"
	}
	return `"expires_at"`
}

// KeyHasPrefix matches keys that start with a prefix, case-sensitively. It
// takes the prefix's length in characters, then the prefix.
func KeyHasPrefix(name string) string {
	if isMySQL(name) {
		return "SUBSTRING(`key`, 1, ?) = ?"
	}
	return `substr("key", 1, ?) = ?`
}

// HasExpiry keeps entries with an expiry, for the oldest and newest one.
func HasExpiry(name string) string {
	if isMySQL(name) {
		return "`expires_at` IS NOT NULL"
	}
	return `"expires_at" IS NOT NULL`
}

// ExpiryFirst and ExpiryLast are the expiry orders.
func ExpiryFirst(name string) string {
	if isMySQL(name) {
		return "`expires_at` ASC"
	}
	return `"expires_at" ASC`
}

// ExpiryLast: see ExpiryFirst.
func ExpiryLast(name string) string {
	if isMySQL(name) {
		return "`expires_at` DESC"
	}
	return `"expires_at" DESC`
}

func isMySQL(name string) bool { return name == "mysql" }

// mysqlASCIILowerKey is the key with A-Z folded to a-z, and nothing else.
const mysqlASCIILowerKey = "REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(`key`, 'A', 'a'), 'B', 'b'), 'C', 'c'), 'D', 'd'), 'E', 'e'), 'F', 'f'), 'G', 'g'), 'H', 'h'), 'I', 'i'), 'J', 'j'), 'K', 'k'), 'L', 'l'), 'M', 'm'), 'N', 'n'), 'O', 'o'), 'P', 'p'), 'Q', 'q'), 'R', 'r'), 'S', 's'), 'T', 't'), 'U', 'u'), 'V', 'v'), 'W', 'w'), 'X', 'x'), 'Y', 'y'), 'Z', 'z')"
