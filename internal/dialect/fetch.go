package dialect

// LockTable is the name of the table of Lock rows.
const LockTable = "cache_locks"

// fetchCommon holds the statements of Fetch and of locks that read the same
// on every database; fetchOwn those that differ, by database name (a new
// database is one more entry).
var (
	fetchCommon = map[ID]string{
		// The second column is NULL for a live entry, so that a hit scans
		// no time, and the expiry of an expired one.
		FetchGet: `SELECT "value", CASE WHEN "expires_at" IS NULL OR "expires_at" >= ? THEN NULL ELSE "expires_at" END AS "expired_at" ` +
			`FROM "cached_items" WHERE "key" = ?`,
		FetchSet: `INSERT INTO "cached_items" ("key", "value", "expires_at", "keep_until", "created_at", "updated_at") ` +
			`VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", ` +
			`"expires_at" = excluded."expires_at", "keep_until" = excluded."keep_until", "updated_at" = excluded."updated_at"`,
		// One statement takes a free or expired lock, or renews the
		// owner's own; it changes no row (0 affected) when another owner
		// holds the lock. acquired_at is "now".
		LockAcquire: `INSERT INTO "cache_locks" ("name", "owner", "expires_at", "acquired_at") VALUES (?, ?, ?, ?) ` +
			`ON CONFLICT ("name") DO UPDATE SET "owner" = excluded."owner", "expires_at" = excluded."expires_at", ` +
			`"acquired_at" = CASE WHEN "cache_locks"."owner" = excluded."owner" THEN "cache_locks"."acquired_at" ELSE excluded."acquired_at" END ` +
			`WHERE "cache_locks"."expires_at" < excluded."acquired_at" OR "cache_locks"."owner" = excluded."owner"`,
		LockRelease:      `DELETE FROM "cache_locks" WHERE "name" = ? AND "owner" = ? AND "expires_at" >= ?`,
		LockExtend:       `UPDATE "cache_locks" SET "expires_at" = ? WHERE "name" = ? AND "owner" = ? AND "expires_at" >= ?`,
		LockForceRelease: `DELETE FROM "cache_locks" WHERE "name" = ? AND "expires_at" >= ?`,
		LockList: `SELECT "name", "owner", "expires_at", "acquired_at" FROM "cache_locks" ` +
			`WHERE "expires_at" >= ? ORDER BY "name"`,
		LockPrune: `DELETE FROM "cache_locks" WHERE "expires_at" < ?`,
	}
	fetchOwn = map[string]map[ID]string{"sqlite": {
		// See Dialect.FetchReadsAll: the key alone, and every entry's
		// expiry (as text: the driver would parse a column it knows is a
		// time, through layouts it tries in turn).
		FetchGet: `SELECT "value", CAST("expires_at" AS TEXT) AS "expired_at" FROM "cached_items" WHERE "key" = ?`,
	}, "mysql": {
		FetchGet: "SELECT `value`, CASE WHEN `expires_at` IS NULL OR `expires_at` >= ? THEN NULL ELSE `expires_at` END AS `expired_at` " +
			"FROM `cached_items` WHERE `key` = ?",
		FetchSet: "INSERT INTO `cached_items` (`key`, `value`, `expires_at`, `keep_until`, `created_at`, `updated_at`) " +
			"VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE `value` = VALUES(`value`), " +
			"`expires_at` = VALUES(`expires_at`), `keep_until` = VALUES(`keep_until`), `updated_at` = VALUES(`updated_at`)",
		// The table has no auto-increment column, so an inserted lock
		// reports insert id 0; a lock that was there calls LAST_INSERT_ID
		// with 1 when taken or renewed and 2 when another owner holds it
		// (see insertid.go). Assignments run left to right: acquired_at and
		// owner read the old row; expires_at reads the owner just assigned,
		// which is the new one exactly when the lock was taken.
		LockAcquire: "INSERT INTO `cache_locks` (`name`, `owner`, `expires_at`, `acquired_at`) VALUES (?, ?, ?, ?) " +
			"ON DUPLICATE KEY UPDATE " +
			"`acquired_at` = IF(LAST_INSERT_ID(IF(" + myTakes + ", 1, 2)) = 1 AND `owner` <> VALUES(`owner`), " +
			"VALUES(`acquired_at`), `acquired_at`), " +
			"`owner` = IF(" + myTakes + ", VALUES(`owner`), `owner`), " +
			"`expires_at` = IF(`owner` = VALUES(`owner`), VALUES(`expires_at`), `expires_at`)",
		LockRelease: "DELETE FROM `cache_locks` WHERE `name` = ? AND `owner` = ? AND `expires_at` >= ?",
		// LAST_INSERT_ID(1) marks a matched row: an extension to the same
		// expiry changes nothing and, without clientFoundRows, affects no
		// row.
		LockExtend: "UPDATE `cache_locks` SET `expires_at` = ?, `owner` = IF(LAST_INSERT_ID(1), `owner`, `owner`) " +
			"WHERE `name` = ? AND `owner` = ? AND `expires_at` >= ?",
		LockForceRelease: "DELETE FROM `cache_locks` WHERE `name` = ? AND `expires_at` >= ?",
		LockList: "SELECT `name`, `owner`, `expires_at`, `acquired_at` FROM `cache_locks` " +
			"WHERE `expires_at` >= ? ORDER BY `name`",
		LockPrune: "DELETE FROM `cache_locks` WHERE `expires_at` < ?",
	}}
)

// myTakes is true when the proposed owner may take the lock in the table:
// it ran out (the proposed acquired_at is "now") or is the owner's own.
const myTakes = "(`expires_at` < VALUES(`acquired_at`) OR `owner` = VALUES(`owner`))"

// fetchCols names the columns of the statements above that return rows.
var fetchCols = map[ID][]string{
	FetchGet: {"value", "expired_at"},
	LockList: {"name", "owner", "expires_at", "acquired_at"},
}

// fetchSQL returns the SQL of a Fetch or lock statement on the named
// database.
func fetchSQL(name string, id ID) (string, bool) {
	if q, ok := fetchOwn[name][id]; ok {
		return q, true
	}
	q, ok := fetchCommon[id]
	return q, ok
}

// FetchReadsAll reports whether FetchGet takes the key alone and returns
// the expiry of every entry that has one, for the caller to compare with
// now: true on SQLite. Elsewhere FetchGet takes now, then the key, and
// returns NULL for a live entry. On SQLite binding a time costs more than
// returning a row's text does: its driver formats the time for every call
// (measured: the statement 7% faster on a hit, 8% on a stale hit).
func (d *Dialect) FetchReadsAll() bool { return d.Name == "sqlite" }

// ClearArgs returns the arguments of ClearExpiredBatch: the time now and the
// batch size, with now twice on MySQL, whose statement reads it twice
// (for expires_at and keep_until).
func (d *Dialect) ClearArgs(now any) []any {
	if d.InsertID {
		return []any{now, now, d.ClearBatch}
	}
	return []any{now, d.ClearBatch}
}

// LockMigration returns, on MySQL, a query that AutoMigrate runs after
// GORM's migration of the lock table: it returns the ALTER TABLE statement
// that gives the name and owner columns the binary collation of the cache
// table's key (see KeyMigration), so that names and owners compare byte for
// byte, or no row when they have it already. Elsewhere it returns "".
func (d *Dialect) LockMigration() string {
	if !d.InsertID {
		return ""
	}
	return "SELECT CONCAT('ALTER TABLE `cache_locks` MODIFY `name` VARCHAR(300) CHARACTER SET utf8mb4 COLLATE ', b.`n`, " +
		"' NOT NULL, MODIFY `owner` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ', b.`n`, ' NOT NULL') " +
		"FROM " + myBinary + " b WHERE b.`n` <> (SELECT `COLLATION_NAME` FROM `information_schema`.`COLUMNS` " +
		"WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = 'cache_locks' AND `COLUMN_NAME` = 'name')"
}
