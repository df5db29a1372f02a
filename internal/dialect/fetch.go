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
	fetchOwn = map[string]map[ID]string{}
)

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
