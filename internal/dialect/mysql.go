package dialect

import "strings"

// MySQL and MariaDB share one dialect. Both lack RETURNING on INSERT (MySQL
// 8 has none at all), so the writes that must say what they did report it
// through the OK packet instead: LAST_INSERT_ID(expr) inside a statement
// makes the server send expr as the statement's insert id, and a row that
// was inserted sends its new auto-increment id. Identifiers are quoted with
// backticks, which need no ANSI_QUOTES in the session's sql_mode.
//
// In INSERT ... ON DUPLICATE KEY UPDATE the assignments run left to right
// and each sees the columns assigned before it, so every condition below
// reads only columns that are assigned after it: expires_at comes last.
// VALUES(col) is the proposed row's column; MySQL 8.0.20 deprecates it in
// favour of a row alias, which MariaDB does not have, and still runs it.
const (
	myInsert = "INSERT INTO `cached_items` (`key`, `value`, `expires_at`, `created_at`, `updated_at`) VALUES "
	myLive   = "(`expires_at` IS NULL OR `expires_at` >= ?)"
	// myExpired is true when the row in the table has expired; the
	// proposed row's created_at is "now".
	myExpired = "`expires_at` < VALUES(`created_at`)"
	myNull    = "CAST(`value` AS CHAR) = 'null'"
	// myFits is true when the stored value is a JSON integer and the sum
	// with the proposed delta fits in a BIGINT. The CASE keeps the casts
	// away from other values; DECIMAL arithmetic cannot overflow here.
	myFits = "CASE WHEN LENGTH(`value`) <= 20 AND CAST(`value` AS CHAR) REGEXP '^-{0,1}[0-9]+$' " +
		"THEN CAST(`value` AS DECIMAL(20,0)) + CAST(VALUES(`value`) AS SIGNED) " +
		"BETWEEN -9223372036854775808 AND 9223372036854775807 ELSE FALSE END"
	// myResult stores a BIGINT as JSON text and passes it to
	// LAST_INSERT_ID, which keeps it as BIGINT UNSIGNED: the driver reads
	// the OK packet's 64 bits back as the signed value.
	myResult = "CAST(CAST(LAST_INSERT_ID(%s) AS SIGNED) AS CHAR)"
)

// mysql prepares its statements, as SQLite does: go-sql-driver without
// interpolateParams otherwise prepares, runs and closes a server-side
// statement for every call with arguments, three round trips for one.
var mysql = build("mysql", false, true, 2500, map[ID]string{
	Get:    "SELECT `value` FROM `cached_items` WHERE `key` = ? AND " + myLive,
	Exists: "SELECT 1 AS `n` FROM `cached_items` WHERE `key` = ? AND " + myLive,
	Set:    myInsert + "(?, ?, ?, ?, ?)" + mySetTail,
	// Add replaces only an expired row, as a fresh entry. Inserted: one
	// affected row and a new id; replaced: two affected rows (created_at
	// always changes); kept: 0, or 1 under clientFoundRows with insert id 0.
	Add: myInsert + "(?, ?, ?, ?, ?)" + myAddTail,
	// A missing or expired entry becomes a fresh one holding delta; a live
	// one keeps its expiry. A refused increment assigns every column its
	// own value, so nothing changes and LAST_INSERT_ID is not called.
	Increment: myInsert + "(?, CAST(CAST(? AS SIGNED) AS CHAR), ?, ?, ?)" + myIncrementTail,
	ReadRaw:   "SELECT `value` FROM `cached_items` WHERE `key` = ?",
	// LAST_INSERT_ID(id) marks a matched row: the insert id is its id, or
	// 0 when no row matched, whether or not a column changed.
	Touch: "UPDATE `cached_items` SET `expires_at` = ?, `updated_at` = ?, `id` = LAST_INSERT_ID(`id`) " +
		"WHERE `key` = ? AND " + myLive,
	Delete: "DELETE FROM `cached_items` WHERE `key` = ?",
	// One "?" per key (see Dialect.Many): the key index is probed for each,
	// and keys compare in the column's own collation.
	GetMany:    "SELECT `key`, `value` FROM `cached_items` WHERE `key` IN (?) AND " + myLive,
	DeleteMany: "DELETE FROM `cached_items` WHERE `key` IN (?)",
	Clear:      "DELETE FROM `cached_items`",
	Stats:      "SELECT " + myCounts + " FROM `cached_items`",
	// CAST: SUM of integers is a DECIMAL on MySQL.
	StatsSize: "SELECT " + myCounts + ", CAST(COALESCE(SUM(" + ValueSize("mysql") + "), 0) AS SIGNED) AS `size` " +
		"FROM `cached_items`",
	// InnoDB locks only the rows it deletes, walking the expires_at index.
	// A row that Fetch may still serve stale (keep_until) is kept. MariaDB
	// has no WITH before DELETE to name now once: it is passed twice (see
	// Dialect.ClearArgs).
	ClearExpiredBatch: "DELETE FROM `cached_items` WHERE `expires_at` < ? AND (`keep_until` IS NULL OR `keep_until` < ?) " +
		"ORDER BY `expires_at` LIMIT ?",
})

// myCounts are the counts of Stats (MySQL has no FILTER).
const myCounts = "COUNT(*) AS `total`, COUNT(CASE WHEN `expires_at` < ? THEN 1 END) AS `expired`, " +
	"COUNT(CASE WHEN `expires_at` >= ? THEN 1 END) AS `unexpired`, " +
	"COUNT(CASE WHEN `expires_at` IS NULL THEN 1 END) AS `forever`"

// mySetTail is Set's (and SetMany's) conflict clause. An untagged write
// inserts no tags, so VALUES(`tags`) is NULL.
const mySetTail = " ON DUPLICATE KEY UPDATE " +
	"`value` = VALUES(`value`), `updated_at` = VALUES(`updated_at`), `tags` = VALUES(`tags`), " +
	"`expires_at` = VALUES(`expires_at`)"

// myAddTail is Add's conflict clause: it replaces only an expired row, as
// a fresh entry.
const myAddTail = " ON DUPLICATE KEY UPDATE " +
	"`value` = IF(" + myExpired + ", VALUES(`value`), `value`), " +
	"`created_at` = IF(" + myExpired + ", VALUES(`created_at`), `created_at`), " +
	"`updated_at` = IF(" + myExpired + ", VALUES(`updated_at`), `updated_at`), " +
	"`tags` = IF(" + myExpired + ", VALUES(`tags`), `tags`), " +
	"`expires_at` = IF(" + myExpired + ", VALUES(`expires_at`), `expires_at`)"

// myIncrementTail is Increment's conflict clause: a missing or expired
// entry becomes a fresh one holding delta; a live one keeps its expiry and
// tags. A refused increment assigns every column its own value, so nothing
// changes and LAST_INSERT_ID is not called.
var myIncrementTail = " ON DUPLICATE KEY UPDATE " +
	"`created_at` = IF(" + myExpired + ", VALUES(`created_at`), `created_at`), " +
	"`updated_at` = IF(" + myExpired + " OR " + myNull + " OR " + myFits + ", VALUES(`updated_at`), `updated_at`), " +
	"`value` = CASE WHEN " + myExpired + " OR " + myNull + " THEN " +
	strings.Replace(myResult, "%s", "CAST(VALUES(`value`) AS SIGNED)", 1) +
	" WHEN " + myFits + " THEN " +
	strings.Replace(myResult, "%s", "CAST(`value` AS SIGNED) + CAST(VALUES(`value`) AS SIGNED)", 1) +
	" ELSE `value` END, " +
	"`tags` = IF(" + myExpired + ", VALUES(`tags`), `tags`), " +
	"`expires_at` = IF(" + myExpired + ", VALUES(`expires_at`), `expires_at`)"

// myBinary is a derived table of one row: the binary, NO PAD collation the
// server has (see KeyMigration), as `n`.
const myBinary = "(SELECT `COLLATION_NAME` AS `n` FROM `information_schema`.`COLLATIONS` " +
	"WHERE `COLLATION_NAME` IN ('utf8mb4_0900_bin', 'utf8mb4_nopad_bin', 'utf8mb4_bin') " +
	"ORDER BY `COLLATION_NAME` = 'utf8mb4_bin', `COLLATION_NAME` LIMIT 1)"

// KeyMigration returns, on MySQL, a query that AutoMigrate runs after GORM's
// migration, and its arguments: it returns the ALTER TABLE statement that
// gives the key column a binary, NO PAD collation (keys compare byte for
// byte, and "a" and "a " are two keys), or no row when the column has one
// already. MariaDB calls it utf8mb4_nopad_bin, MySQL 8 utf8mb4_0900_bin;
// utf8mb4_bin (PAD SPACE) is the fallback on older servers. Elsewhere it
// returns "".
func (d *Dialect) KeyMigration() (string, []any) {
	if !d.InsertID {
		return "", nil
	}
	schema, table := d.schemaTable()
	q := "SELECT CONCAT('ALTER TABLE `cached_items` MODIFY `key` VARCHAR(255) " +
		"CHARACTER SET utf8mb4 COLLATE ', b.`n`, ' NOT NULL') " +
		"FROM " + myBinary + " b WHERE b.`n` <> (SELECT `COLLATION_NAME` FROM `information_schema`.`COLUMNS` " +
		"WHERE `TABLE_SCHEMA` = COALESCE(NULLIF(?, ''), DATABASE()) AND `TABLE_NAME` = ? AND `COLUMN_NAME` = 'key')"
	return d.onTable(q), []any{schema, table}
}

// The MySQL tag, prefix and trim statements. The side table's columns are
// copies of the key column (see TagMigrations), so keys and tags compare in
// its binary NO PAD collation. Keys and tags are passed one "?" each
// ("IN (?)" is expanded by Many), as GetMany's keys are: a JSON parameter
// would need JSON_TABLE, whose columns bring their own collation.
const (
	myInsertTagged = "INSERT INTO `cached_items` (`key`, `value`, `expires_at`, `created_at`, `updated_at`, `tags`) VALUES "
	// myCarries is true when the entry row i carries the tag of side row t.
	myCarries = "COALESCE(JSON_CONTAINS(`i`.`tags`, JSON_QUOTE(`t`.`tag`)), FALSE)"
	// myNotCarried is true for a side row t whose entry is gone or no
	// longer carries its tag.
	myNotCarried = "NOT EXISTS (SELECT 1 FROM `cached_items` AS `i` WHERE `i`.`key` = `t`.`key` AND " + myCarries + ")"
)

var myTagSQL = map[ID]string{
	SetTagged: myInsertTagged + "(?, ?, ?, ?, ?, ?)" + mySetTail,
	// Add and Increment as in mysql above, with the tags of a fresh entry.
	AddTagged:       myInsertTagged + "(?, ?, ?, ?, ?, ?)" + myAddTail,
	IncrementTagged: myInsertTagged + "(?, CAST(CAST(? AS SIGNED) AS CHAR), ?, ?, ?, ?)" + myIncrementTail,
	SetTaggedCall:   "CALL `cached_items" + procSuffix + "`(?, ?, ?, ?, ?, ?)",
	TagsOf:          "SELECT `tags` FROM `cached_items` WHERE `key` = ? AND " + myLive,
	SyncTagsDelete:  "DELETE `t` FROM `cached_items_tags` AS `t` WHERE `t`.`key` IN (?) AND " + myNotCarried,
	// JSON_TABLE's column is only read and converted on insert.
	SyncTagsInsert: "INSERT INTO `cached_items_tags` (`key`, `tag`) SELECT `i`.`key`, `j`.`tag` FROM `cached_items` AS `i`, " +
		"JSON_TABLE(`i`.`tags`, '$[*]' COLUMNS (`tag` VARCHAR(255) CHARACTER SET utf8mb4 PATH '$')) AS `j` " +
		"WHERE `i`.`key` IN (?) ON DUPLICATE KEY UPDATE `tag` = VALUES(`tag`)",
	// Run per tag (InvalidatesPerTag), first: the other side rows of the
	// entries that carry the tag (candidates from the side table's unique
	// (tag, key) index, checked against the tags column).
	InvalidateTagsFirst: "DELETE `d` FROM `cached_items_tags` AS `t` JOIN `cached_items` AS `i` ON `i`.`key` = `t`.`key` " +
		"JOIN `cached_items_tags` AS `d` ON `d`.`key` = `i`.`key` AND `d`.`tag` <> `t`.`tag` WHERE `t`.`tag` = ? AND " + myCarries,
	// Then the entries with their side row of the tag: two rows each, one
	// per table. A sweep of the side rows after the entries' DELETE cost
	// as much again, as it looked for each among the entries just deleted.
	InvalidateTags: "DELETE `i`, `t` FROM `cached_items_tags` AS `t` JOIN `cached_items` AS `i` ON `i`.`key` = `t`.`key` " +
		"WHERE `t`.`tag` = ? AND " + myCarries,
	// Not run: InvalidateTags deletes the side rows itself.
	InvalidateTagsSweep: "SELECT 0 AS `n`",
	// The key column's binary collation compares code points, which is
	// byte order in UTF-8: a range scan of the key index.
	DeletePrefix:     "DELETE FROM `cached_items` WHERE `key` >= ? AND `key` < ?",
	DeletePrefixScan: "DELETE FROM `cached_items` WHERE `key` >= ? AND `key` < ?",
	KeyCollation:     "SELECT 1 AS `n`",
	TrimCutoff: "SELECT CAST(`updated_at` AS CHAR) AS `cut`, `id` FROM (SELECT `updated_at`, `id`, ROW_NUMBER() OVER `w` AS `rn`, " +
		"SUM(LENGTH(`key`) + LENGTH(`value`)) OVER `w` AS `b` FROM `cached_items` WHERE `updated_at` >= ? " +
		"WINDOW `w` AS (ORDER BY `updated_at` DESC, `id` DESC)) AS `s` " +
		"WHERE `rn` > ? OR `b` > ? ORDER BY `updated_at` DESC, `id` DESC LIMIT 1",
	TrimCutoffCount: "SELECT CAST(`updated_at` AS CHAR) AS `cut`, `id` FROM `cached_items` WHERE `updated_at` >= ? " +
		"ORDER BY `updated_at` DESC, `id` DESC LIMIT 1 OFFSET ?",
	TrimNextID: "SELECT `id` FROM `cached_items` WHERE `id` > ? ORDER BY `id` LIMIT 1 OFFSET ?",
	TrimBatch: "DELETE FROM `cached_items` WHERE `id` > ? AND `id` <= ? AND " +
		"(`updated_at` < ? OR `updated_at` < ? OR (`updated_at` = ? AND `id` <= ?))",
	// A single-table DELETE, the only kind that takes LIMIT.
	TagsSweep: "DELETE FROM `cached_items_tags` WHERE NOT EXISTS (SELECT 1 FROM `cached_items` AS `i` " +
		"WHERE `i`.`key` = `cached_items_tags`.`key` AND " +
		"COALESCE(JSON_CONTAINS(`i`.`tags`, JSON_QUOTE(`cached_items_tags`.`tag`)), FALSE)) LIMIT ?",
}

// ClearRange returns, on MySQL, the two statements of one ClearExpired
// batch by key range, and ok false elsewhere (ClearExpiredBatch serves).
// InnoDB keeps the index entries of deleted rows until its purge runs, so a
// `DELETE … ORDER BY expires_at LIMIT n` repeated from the start of the
// index walks over every row the earlier batches deleted: measured at 1M
// rows, 2.4 s per batch of 5000 rows. Instead each batch starts where the last
// one ended, in the order of the expires_at index, which InnoDB extends
// with the primary key: bound finds the (expires_at, id) of the batch's
// last row (parameters: after's expires_at twice, after's id, the last expired
// time, n-1),
// and del deletes the expired rows after the previous bound up to it
// (after twice and its id, upTo twice and its id, now, n). The id breaks
// ties, so rows written with one expiry (a SetMany) still split into
// batches. ORDER BY and LIMIT keep the optimizer on the index even when
// its statistics still count the rows earlier batches deleted: without
// them, the last batch of a 1M-row run scanned the whole table.
func (d *Dialect) ClearRange() (bound, del Stmt, ok bool) {
	if d.Name != "mysql" {
		return Stmt{}, Stmt{}, false
	}
	bound = d.Build(d.onTable(myClearBound))
	bound.Cols = []string{"expires_at", "id"} // for rows read through GORM
	return bound, d.Build(d.onTable(myClearRange)), true
}

// The statements of ClearRange, for cached_items; onTable names the table.
const (
	myClearAfter = "(`expires_at` > ? OR (`expires_at` = ? AND `id` > ?))"
	myClearBound = "SELECT `expires_at`, `id` FROM `cached_items` WHERE " + myClearAfter + " AND `expires_at` <= ? " +
		"ORDER BY `expires_at`, `id` LIMIT 1 OFFSET ?"
	myClearRange = "DELETE FROM `cached_items` WHERE " + myClearAfter + " AND (`expires_at` < ? OR (`expires_at` = ? AND `id` <= ?)) " +
		"AND (`keep_until` IS NULL OR `keep_until` < ?) ORDER BY `expires_at`, `id` LIMIT ?"
)

// procSuffix names a cache table's procedure of tagged Sets. Its number is
// the version of the procedure's body: a later body takes another name, so
// that AutoMigrate creates it beside an older one instead of changing it
// under running processes.
const procSuffix = "_set_tagged2"

// ProcName returns the name of the table's procedure of tagged Sets,
// unquoted, without its schema.
func (d *Dialect) ProcName() string {
	_, table := d.schemaTable()
	return suffixed(table, procSuffix)
}

// schemaTable splits TableName into its schema ("" when it has none) and
// table.
func (d *Dialect) schemaTable() (schema, table string) {
	if schema, table, ok := strings.Cut(d.TableName, "."); ok {
		return schema, table
	}
	return "", d.TableName
}

// quotedProc returns the procedure's name quoted, schema-qualified like the
// cache table.
func (d *Dialect) quotedProc() string {
	if schema, _ := d.schemaTable(); schema != "" {
		return "`" + schema + "`.`" + d.ProcName() + "`"
	}
	return "`" + d.ProcName() + "`"
}

// ProcCheck returns, on MySQL, a query (and its arguments) that returns the
// key column's collation and 1 when the procedure of tagged Sets exists
// (else 0): AutoMigrate creates it (SetTaggedProcedure) when it is missing.
// Elsewhere it returns "".
func (d *Dialect) ProcCheck() (string, []any) {
	if !d.InsertID {
		return "", nil
	}
	schema, table := d.schemaTable()
	q := "SELECT `c`.`COLLATION_NAME` AS `collation`, (SELECT COUNT(*) FROM `information_schema`.`ROUTINES` AS `r` " +
		"WHERE `r`.`ROUTINE_SCHEMA` = `c`.`TABLE_SCHEMA` AND `r`.`ROUTINE_TYPE` = 'PROCEDURE' AND `r`.`ROUTINE_NAME` = ?) AS `found` " +
		"FROM `information_schema`.`COLUMNS` AS `c` WHERE `c`.`TABLE_SCHEMA` = COALESCE(NULLIF(?, ''), DATABASE()) " +
		"AND `c`.`TABLE_NAME` = ? AND `c`.`COLUMN_NAME` = 'key'"
	return q, []any{d.ProcName(), schema, table}
}

// SetTaggedProcedure returns the CREATE PROCEDURE statement of the table's
// procedure of tagged Sets, for a key column in the given collation, or ""
// when the collation is not one of the binary ones KeyMigration gives.
//
// A tagged Set on MySQL is four statements in one transaction (the upsert,
// SyncTagsDelete, SyncTagsInsert): six round trips from the client, five
// times an untagged Set. The procedure runs them on the server, in a
// transaction of its own, for one round trip; callers use it only outside a
// transaction (START TRANSACTION inside the caller's would commit it). On
// any error it rolls back and raises the error again, code and SQLSTATE
// kept, so a deadlock is retried and a refused value is ErrInvalidValue as
// before. Parameters are named p_… so that none shadows a column, and the
// key takes the column's collation so that comparing them uses the index.
func (d *Dialect) SetTaggedProcedure(collation string) string {
	switch collation {
	case "utf8mb4_0900_bin", "utf8mb4_nopad_bin", "utf8mb4_bin":
	default:
		return ""
	}
	// The constant's collation is one of the three, as is the column's.
	return strings.ReplaceAll(d.onTable(myProc), "utf8mb4_nopad_bin", collation)
}

// myProc is the procedure of tagged Sets for cached_items (see
// SetTaggedProcedure). The upsert notes, in a session variable, whether
// the entry already carried exactly these tags (the usual case: an entry
// written again with the tags it was written with); its side rows are then
// in place and nothing more runs. Otherwise the entry now carries p_tags,
// and the transaction holds its row: the side rows follow from the
// parameters, without reading the entry again (half the cost of
// SyncTagsDelete and SyncTagsInsert). An inserted row runs no assignment,
// so the variable is reset first.
const myProc = "CREATE PROCEDURE `cached_items" + procSuffix + "` (" +
	"IN `p_key` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, " +
	"IN `p_value` LONGTEXT CHARACTER SET utf8mb4, IN `p_expires_at` DATETIME(6), " +
	"IN `p_created_at` DATETIME(6), IN `p_updated_at` DATETIME(6), IN `p_tags` LONGTEXT CHARACTER SET utf8mb4) " +
	"MODIFIES SQL DATA BEGIN " +
	"DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END; " +
	"SET @gormcache_same_tags = FALSE; " +
	"START TRANSACTION; " +
	myInsertTagged + "(`p_key`, `p_value`, `p_expires_at`, `p_created_at`, `p_updated_at`, `p_tags`) ON DUPLICATE KEY UPDATE " +
	"`value` = VALUES(`value`), `updated_at` = VALUES(`updated_at`), " +
	"`tags` = IF(@gormcache_same_tags := (`tags` <=> VALUES(`tags`)), `tags`, VALUES(`tags`)), " +
	"`expires_at` = VALUES(`expires_at`); " +
	"IF NOT @gormcache_same_tags THEN " +
	"DELETE FROM `cached_items_tags` WHERE `key` = `p_key` " +
	"AND NOT COALESCE(JSON_CONTAINS(`p_tags`, JSON_QUOTE(`tag`)), FALSE); " +
	"INSERT INTO `cached_items_tags` (`key`, `tag`) SELECT `p_key`, `j`.`tag` " +
	"FROM JSON_TABLE(`p_tags`, '$[*]' COLUMNS (`tag` VARCHAR(255) CHARACTER SET utf8mb4 PATH '$')) AS `j` " +
	"ON DUPLICATE KEY UPDATE `tag` = VALUES(`tag`); " +
	"END IF; " +
	"COMMIT; END"

// ProcMissing reports whether err says that the procedure of a CALL does
// not exist (1305) or may not be run (1370): the caller then runs the
// statements the procedure would have.
func (d *Dialect) ProcMissing(err error) bool {
	if !d.InsertID || err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "Error 1305 ") || strings.Contains(s, "Error 1370 ")
}
