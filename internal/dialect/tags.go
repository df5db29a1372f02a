package dialect

import (
	"fmt"
	"hash/crc32"
	"strings"
)

// Tags are stored twice. The entry row's "tags" column holds the entry's
// tags as a sorted JSON array, or NULL: it is the truth, written by the same
// statement that writes the value, so a write without tags (which sets it to
// NULL) costs nothing more than before. The side table <table>_tags holds
// one (key, tag) row per tag of a tagged write, indexed by tag: it is how
// InvalidateTags finds candidates, which it then checks against the column.
// A side row may outlive its tag (the entry was deleted, or, except on
// SQLite, rewritten without tags); such rows are harmless, and tagged
// rewrites and Trim delete them, as does InvalidateTags those of its tags
// (on MySQL those of the entries it deletes).

// quotedTagsTable is how the statements name the side table; onTable
// replaces it with the side table of another cache table.
const quotedTagsTable = `"cached_items_tags"`

// insertTaggedCols is insertCols with the tags column.
const insertTaggedCols = `INSERT INTO "cached_items" ("key", "value", "expires_at", "created_at", "updated_at", "tags") VALUES `

// taggedRows are the VALUES rows of the tagged upserts.
var taggedRows = map[string]string{
	"sqlite":   `(?, ?, ?, ?, ?, ?)`,
	"postgres": `(?, ?, ?, ?, ?, CAST(? AS jsonb))`,
	"mysql":    `(?, ?, ?, ?, ?, ?)`,
}

// tagsSuffix names a cache table's side table.
const tagsSuffix = "_tags"

// tagsName returns the side table's name for the cache table part name. A
// name too long to take the suffix within MaxIdentifier is cut and made
// unique with a checksum, as PostgreSQL would otherwise cut it silently (and
// a 63-byte table's side table would be the table itself).
func tagsName(name string) string { return suffixed(name, tagsSuffix) }

// suffixed returns name with suffix, cut and made unique with a checksum
// when longer than MaxIdentifier.
func suffixed(name, suffix string) string {
	if len(name)+len(suffix) <= MaxIdentifier {
		return name + suffix
	}
	keep := MaxIdentifier - len(suffix) - 9
	return fmt.Sprintf("%s_%08x%s", name[:keep], crc32.ChecksumIEEE([]byte(name)), suffix)
}

// TagsTableName returns the side table's name, unquoted, schema-qualified
// like the cache table.
func (d *Dialect) TagsTableName() string {
	if i := strings.LastIndexByte(d.TableName, '.'); i >= 0 {
		return d.TableName[:i+1] + tagsName(d.TableName[i+1:])
	}
	return tagsName(d.TableName)
}

// quotedTags returns the side table's name quoted with q.
func (d *Dialect) quotedTags(q string) string {
	return q + strings.ReplaceAll(d.TagsTableName(), ".", q+"."+q) + q
}

// InOneStatement reports whether a tagged write keeps the side table in
// line within its own statement (PostgreSQL's writable CTEs), which
// returns the number of entries written as "n", and InvalidateTags is one
// statement.
func (d *Dialect) InOneStatement() bool { return d.Name == "postgres" }

// SyncsTags reports whether the database itself keeps the side table in
// line whenever a write changes the tags column (SQLite's triggers, see
// TagTriggers), so a tagged write is the plain upsert. Where neither this
// nor InOneStatement holds, the caller runs SyncTagsDelete and
// SyncTagsInsert after the write, in the same transaction. (MySQL has no
// such triggers: with a trigger on the table, MariaDB reports the row's id
// instead of LAST_INSERT_ID(expr) in the OK packet, which Increment, Add
// and Touch read.)
func (d *Dialect) SyncsTags() bool { return d.Name == "sqlite" }

// SideByTag reports whether the side table is keyed by (tag, key) alone
// (SQLite), so that its rows are found by key only through an entry's
// tags: InvalidateTags then runs InvalidateTagsFirst before it.
func (d *Dialect) SideByTag() bool { return d.Name == "sqlite" }

// InvalidatesPerTag reports whether InvalidateTags runs, for each tag,
// InvalidateTagsFirst then InvalidateTags, which deletes the entries with
// their side row of the tag and so counts two rows per entry (MySQL).
func (d *Dialect) InvalidatesPerTag() bool { return d.InsertID }

// TagTriggers returns the statements that create SQLite's triggers, and a
// query, with its arguments, that counts those that exist: AutoMigrate
// creates them unless all exist, so an older table is upgraded. An insert
// with tags adds their side rows; an update that changes the tags column
// deletes the side rows of the tags the entry lost and adds those of the
// tags it gained. The WHEN clauses keep writes without tags, and rewrites
// with the same tags, from running anything.
func (d *Dialect) TagTriggers() (creates []string, count string, args []any) {
	if !d.SyncsTags() {
		return nil, "", nil
	}
	// Inside a trigger tables are named without their schema: a trigger
	// lives in its table's schema.
	schema, table, ok := strings.Cut(d.TableName, ".")
	if !ok {
		schema, table = "main", d.TableName
	}
	ins, upd := suffixed(table, insertTrigger), suffixed(table, updateTrigger)
	quote := func(name string) string { return `"` + name + `"` }
	r := strings.NewReplacer(
		`"cached_items_tags_insert"`, quote(schema)+"."+quote(ins),
		`"cached_items_tags_update"`, quote(schema)+"."+quote(upd),
		quotedTagsTable, quote(tagsName(table)),
		quotedTable, quote(table),
		`"main"."sqlite_master"`, quote(schema)+`."sqlite_master"`)
	return []string{r.Replace(sqliteInsertTrigger), r.Replace(sqliteUpdateTrigger)},
		r.Replace(`SELECT COUNT(*) FROM "main"."sqlite_master" WHERE "type" = 'trigger' AND "name" IN (?, ?)`), []any{ins, upd}
}

// The triggers' names: the table's name with these.
const (
	insertTrigger = "_tags_insert"
	updateTrigger = "_tags_update"
)

// SQLite's triggers, for cached_items (TagTriggers names another table's).
// The insert is an upsert, not INSERT OR IGNORE: the outer statement's
// conflict algorithm (an upsert's is ABORT) would override OR IGNORE.
// "WHERE true" parts the SELECT from ON CONFLICT.
const (
	sqliteTagsInsert = `INSERT INTO "cached_items_tags" ("tag", "key") SELECT "value", NEW."key" FROM json_each(NEW."tags") WHERE true ` +
		`ON CONFLICT DO NOTHING;`
	sqliteInsertTrigger = `CREATE TRIGGER IF NOT EXISTS "cached_items_tags_insert" AFTER INSERT ON "cached_items" ` +
		`WHEN NEW."tags" IS NOT NULL BEGIN ` + sqliteTagsInsert + ` END`
	sqliteUpdateTrigger = `CREATE TRIGGER IF NOT EXISTS "cached_items_tags_update" AFTER UPDATE OF "tags" ON "cached_items" ` +
		`WHEN NEW."tags" IS NOT OLD."tags" BEGIN ` +
		`DELETE FROM "cached_items_tags" WHERE "tag" IN (SELECT "value" FROM json_each(OLD."tags")) AND "key" = OLD."key" ` +
		`AND "tag" NOT IN (SELECT "value" FROM json_each(COALESCE(NEW."tags", '[]'))); ` +
		sqliteTagsInsert + ` END`
)

// ByteOrderedKeys reports whether the key column is known to sort in byte
// order without asking the database: SQLite's BINARY collation. On
// PostgreSQL the column's collation decides (KeyCollation).
func (d *Dialect) ByteOrderedKeys() bool { return d.Name != "postgres" }

// TagMigrations returns the statements that create the side table, which
// AutoMigrate runs when the table does not exist yet. Except on SQLite, its
// primary key (key, tag) serves the tagged writes, which replace one key's
// rows; the unique (tag, key) index serves InvalidateTags.
func (d *Dialect) TagMigrations(unlogged bool) []string {
	if d.SideByTag() {
		// Without rowid, the primary key (tag, key) is the table: a
		// tagged write adds one row to one b-tree per tag, which halves its
		// cost next to a rowid table with two indexes. Rows are found by
		// key through the entry's tags (the triggers, InvalidateTagsFirst).
		return []string{d.onTable(`CREATE TABLE IF NOT EXISTS "cached_items_tags" (` +
			`"tag" varchar(255) NOT NULL, "key" varchar(255) NOT NULL, PRIMARY KEY ("tag", "key")) WITHOUT ROWID`)}
	}
	if d.InsertID {
		// Columns copied from the key column, which AutoMigrate has given
		// its binary NO PAD collation by now: tags are case-sensitive, and
		// "a" and "a " are two tags and two keys.
		return []string{d.onTable("CREATE TABLE IF NOT EXISTS `cached_items_tags` " +
			"(PRIMARY KEY (`key`, `tag`), UNIQUE (`tag`, `key`)) " +
			"SELECT `key`, `key` AS `tag` FROM `cached_items` WHERE 1 = 0")}
	}
	m := []string{d.onTable(`CREATE TABLE IF NOT EXISTS "cached_items_tags" (` +
		`"key" varchar(255) NOT NULL, "tag" varchar(255) NOT NULL, ` +
		`PRIMARY KEY ("key", "tag"), UNIQUE ("tag", "key"))`)}
	if d.Name == "postgres" && unlogged {
		m = append(m, d.onTable(`DO $$ BEGIN IF (SELECT relpersistence FROM pg_class WHERE oid = '"cached_items_tags"'::regclass) = 'p' `+
			`THEN ALTER TABLE "cached_items_tags" SET UNLOGGED; END IF; END $$`))
	}
	return m
}

// carries is true when the entry row "i" carries the tag of the side row "t".
const (
	sqliteCarries = `EXISTS (SELECT 1 FROM json_each("i"."tags") AS "j" WHERE "j"."value" = "t"."tag")`
	pgCarries     = `COALESCE(jsonb_exists("i"."tags", "t"."tag"), false)`
)

// pgSync wraps a PostgreSQL upsert that returns "key" and "tags" (and
// selects the second argument from it) so that the same statement brings the side rows of the
// keys it wrote in line with their tags: rows of tags they no longer carry
// go, rows of their tags are inserted or, when present, updated, which
// locks them against a concurrent TagsSweep that found them stale.
const pgSync = `WITH "up" AS (%s), ` +
	`"dt" AS (DELETE FROM "cached_items_tags" AS "t" USING "up" WHERE "t"."key" = "up"."key" ` +
	`AND NOT COALESCE(jsonb_exists("up"."tags", "t"."tag"), false)), ` +
	`"it" AS (INSERT INTO "cached_items_tags" ("tag", "key") SELECT "j"."tag", "up"."key" ` +
	`FROM "up", jsonb_array_elements_text("up"."tags") AS "j"("tag") ` +
	`ON CONFLICT ("key", "tag") DO UPDATE SET "tag" = excluded."tag") ` +
	`SELECT %s FROM "up"`

// The tag, prefix and trim statements of each database.
var tagSQL = map[string]map[ID]string{
	"mysql": myTagSQL, // mysql.go
	"sqlite": {
		SetTagged:       insertTaggedCols + `(?, ?, ?, ?, ?, ?)` + setTail,
		AddTagged:       insertTaggedCols + `(?, ?, ?, ?, ?, ?)` + addTail,
		IncrementTagged: insertTaggedCols + `(?, CAST(? AS TEXT), ?, ?, ?, ?)` + sqliteIncrement + sqliteIncrementReturning,
		TagsOf:          `SELECT "tags" FROM "cached_items" WHERE "key" = ? AND ` + live,
		// Not run: the triggers of TagTriggers keep the side table in line.
		SyncTagsDelete: `SELECT 0 AS "n"`,
		SyncTagsInsert: `SELECT 0 AS "n"`,
		// Run before InvalidateTags in its transaction: the side rows of the
		// other tags of the entries it will delete, found through their
		// tags column (the side table has no index by key).
		InvalidateTagsFirst: `WITH "p" AS (SELECT "value" AS "tag" FROM json_each(?)) ` +
			`DELETE FROM "cached_items_tags" WHERE ("tag", "key") IN (SELECT "j"."value", "i"."key" FROM "cached_items_tags" AS "s" ` +
			`JOIN "cached_items" AS "i" ON "i"."key" = "s"."key", json_each("i"."tags") AS "j" ` +
			`WHERE "s"."tag" IN (SELECT "tag" FROM "p") AND "j"."value" NOT IN (SELECT "tag" FROM "p") ` +
			`AND EXISTS (SELECT 1 FROM json_each("i"."tags") AS "c" WHERE "c"."value" = "s"."tag"))`,
		// Candidates from the side table, checked against the tags column.
		InvalidateTags: `DELETE FROM "cached_items" WHERE "key" IN (SELECT "key" FROM "cached_items_tags" ` +
			`WHERE "tag" IN (SELECT "value" FROM json_each(?))) ` +
			`AND EXISTS (SELECT 1 FROM json_each("cached_items"."tags") AS "j" WHERE "j"."value" IN (SELECT "value" FROM json_each(?)))`,
		// Run after InvalidateTags in its transaction: the side rows of the
		// tags whose entries are gone or no longer carry them.
		InvalidateTagsSweep: `DELETE FROM "cached_items_tags" WHERE "tag" IN (SELECT "value" FROM json_each(?)) ` +
			`AND NOT EXISTS (SELECT 1 FROM "cached_items" AS "i", json_each("i"."tags") AS "j" ` +
			`WHERE "i"."key" = "cached_items_tags"."key" AND "j"."value" = "cached_items_tags"."tag")`,
		// BINARY collation compares bytes: a range scan of the key index.
		DeletePrefix:     `DELETE FROM "cached_items" WHERE "key" >= ? AND "key" < ?`,
		DeletePrefixScan: `DELETE FROM "cached_items" WHERE "key" >= ? AND "key" < ?`,
		KeyCollation:     `SELECT 1 AS "n"`,
		TrimCutoff:       fmt.Sprintf(trimCutoff, `length(CAST("key" AS BLOB)) + length(CAST("value" AS BLOB))`),
		TrimCutoffCount:  trimCutoffCount,
		TrimNextID:       trimNextID,
		TrimBatch:        fmt.Sprintf(trimBatch, "?"),
		SetTaggedCall:    `SELECT 0 AS "n"`, // not run: MySQL's
		TagsSweep: `DELETE FROM "cached_items_tags" WHERE ("tag", "key") IN (SELECT "t"."tag", "t"."key" FROM "cached_items_tags" AS "t" ` +
			`WHERE NOT EXISTS (SELECT 1 FROM "cached_items" AS "i" WHERE "i"."key" = "t"."key" AND ` + sqliteCarries + `) LIMIT ?)`,
	},
	"postgres": {
		SetTagged:       fmt.Sprintf(pgSync, insertTaggedCols+`(?, ?, ?, ?, ?, CAST(? AS jsonb))`+setTail+` RETURNING "key", "tags"`, `COUNT(*) AS "n"`),
		AddTagged:       fmt.Sprintf(pgSync, insertTaggedCols+`(?, ?, ?, ?, ?, CAST(? AS jsonb))`+addTail+` RETURNING "key", "tags"`, `COUNT(*) AS "n"`),
		IncrementTagged: fmt.Sprintf(pgSync, insertTaggedCols+`(?, to_jsonb(CAST(? AS bigint)), ?, ?, ?, CAST(? AS jsonb))`+pgIncrement+pgIncrementReturning+`, "key", "tags"`, `"n"`),
		TagsOf:          `SELECT "tags" FROM "cached_items" WHERE "key" = ? AND ` + live,
		SyncTagsDelete: `DELETE FROM "cached_items_tags" AS "t" WHERE "t"."key" = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(? AS jsonb)))) ` +
			`AND NOT EXISTS (SELECT 1 FROM "cached_items" AS "i" WHERE "i"."key" = "t"."key" AND ` + pgCarries + `)`,
		SyncTagsInsert: `INSERT INTO "cached_items_tags" ("tag", "key") SELECT "j"."tag", "i"."key" ` +
			`FROM "cached_items" AS "i", jsonb_array_elements_text("i"."tags") AS "j"("tag") ` +
			`WHERE "i"."key" = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(? AS jsonb)))) ` +
			`ON CONFLICT ("key", "tag") DO UPDATE SET "tag" = excluded."tag"`,
		// One statement: the entries that carry a tag (found through the
		// side table, checked against the column) and their side rows go
		// together. A write committed after the statement's snapshot is
		// not seen, so its entry is kept. The side rows of the tags go by
		// ctid, all of them (one that outlived its tag too): a row that a
		// tagged write updated meanwhile has another ctid and is kept. The
		// entries' other tags go by primary key: matching each side row
		// against the array of deleted keys would cost a comparison per
		// key and row.
		InvalidateTags: `WITH "p" AS (SELECT ARRAY(SELECT jsonb_array_elements_text(CAST(? AS jsonb))) AS "t"), ` +
			`"c" AS MATERIALIZED (SELECT "ctid" AS "r", "key" FROM "cached_items_tags" WHERE "tag" = ANY(CAST((SELECT "t" FROM "p") AS text[]))), ` +
			`"del" AS (DELETE FROM "cached_items" WHERE "key" = ANY(ARRAY(SELECT "key" FROM "c")) ` +
			`AND jsonb_exists_any("tags", (SELECT "t" FROM "p")) RETURNING "key", "tags"), ` +
			`"dt" AS (DELETE FROM "cached_items_tags" WHERE "ctid" = ANY(ARRAY(SELECT "r" FROM "c"))), ` +
			`"do" AS (DELETE FROM "cached_items_tags" AS "s" USING "del", jsonb_array_elements_text("del"."tags") AS "j"("tag") ` +
			`WHERE "s"."key" = "del"."key" AND "s"."tag" = "j"."tag" AND NOT "j"."tag" = ANY(CAST((SELECT "t" FROM "p") AS text[]))) ` +
			`SELECT COUNT(*) AS "n" FROM "del"`,
		// Not needed: InvalidateTags deletes the side rows itself.
		InvalidateTagsFirst: `SELECT 0 AS "n"`,
		InvalidateTagsSweep: `SELECT 0 AS "n"`,
		// For a key column in a byte-ordered collation: a range scan of the
		// key index.
		DeletePrefix: `DELETE FROM "cached_items" WHERE "key" >= ? AND "key" < ?`,
		// For any other collation, where keys with one prefix need not be
		// adjacent in the index: compared in byte order, by a table scan.
		DeletePrefixScan: `DELETE FROM "cached_items" WHERE "key" COLLATE "C" >= ? AND "key" COLLATE "C" < ?`,
		// 1 when the key column sorts in byte order: C, POSIX or C.UTF-8 of
		// libc (code point order is byte order in UTF-8), or ucs_basic.
		KeyCollation: `SELECT COUNT(*) AS "n" FROM pg_attribute AS "a" JOIN pg_collation AS "c" ON "c"."oid" = "a"."attcollation" ` +
			`WHERE "a"."attrelid" = CAST('"cached_items"' AS regclass) AND "a"."attname" = 'key' AND ` +
			`("c"."collname" IN ('C', 'POSIX', 'ucs_basic') OR "c"."collname" = 'default' AND EXISTS (SELECT 1 FROM pg_database ` +
			`WHERE "datname" = current_database() AND "datlocprovider" = 'c' AND "datcollate" IN ('C', 'POSIX', 'C.UTF-8', 'C.utf8')))`,
		// pg_column_size is the value as stored: jsonb, compressed when
		// large; measuring it reads no value.
		TrimCutoff:      fmt.Sprintf(trimCutoff, `octet_length("key") + pg_column_size("value")`),
		TrimCutoffCount: trimCutoffCount,
		TrimNextID:      trimNextID,
		TrimBatch:       fmt.Sprintf(trimBatch, "CAST(? AS timestamptz)"),
		// Rows are found by ctid; a row that a tagged write updated in the
		// meantime (its ON CONFLICT DO UPDATE) has another ctid and is kept.
		SetTaggedCall: `SELECT 0 AS "n"`, // not run: MySQL's
		TagsSweep: `DELETE FROM "cached_items_tags" WHERE "ctid" = ANY(ARRAY(SELECT "t"."ctid" FROM "cached_items_tags" AS "t" ` +
			`WHERE NOT EXISTS (SELECT 1 FROM "cached_items" AS "i" WHERE "i"."key" = "t"."key" AND ` + pgCarries + `) LIMIT ?))`,
	},
}

// addTail is Add's conflict clause: it replaces only an expired row, as a
// fresh entry.
const addTail = ` ON CONFLICT ("key") DO UPDATE SET ` +
	`"value" = excluded."value", "expires_at" = excluded."expires_at", ` +
	`"created_at" = excluded."created_at", "updated_at" = excluded."updated_at", "tags" = excluded."tags" ` +
	`WHERE ` + expiredOld

// trimCutoff (with %s the size of an entry) returns the newest entry, among those written at or after the
// first parameter, beyond the first n entries (second parameter) or the
// first bytes (third) counted from the newest: it and every older entry go.
// Its updated_at comes as text ("cut"), which goes back into TrimBatch
// unchanged, so that the comparison is exact on SQLite, which stores times
// as text.
const trimCutoff = `SELECT CAST("updated_at" AS TEXT) AS "cut", "id" FROM (SELECT "updated_at", "id", ROW_NUMBER() OVER "w" AS "rn", ` +
	`SUM(%s) OVER "w" AS "b" FROM "cached_items" WHERE "updated_at" >= ? ` +
	`WINDOW "w" AS (ORDER BY "updated_at" DESC, "id" DESC)) AS "s" ` +
	`WHERE "rn" > ? OR "b" > ? ORDER BY "updated_at" DESC, "id" DESC LIMIT 1`

// trimCutoffCount is trimCutoff for MaxEntries alone: it sorts no sizes.
const trimCutoffCount = `SELECT CAST("updated_at" AS TEXT) AS "cut", "id" FROM "cached_items" WHERE "updated_at" >= ? ` +
	`ORDER BY "updated_at" DESC, "id" DESC LIMIT 1 OFFSET ?`

// trimNextID returns the id that ends a batch of Trim: the n-th (second
// parameter, counted from 0) after the first.
const trimNextID = `SELECT "id" FROM "cached_items" WHERE "id" > ? ORDER BY "id" LIMIT 1 OFFSET ?`

// trimBatch deletes, among the ids in (first, second], the entries written
// before the third parameter (MaxAge) or at or before the cutoff (updated_at
// as text, fourth and fifth, id sixth); %s reads the text as a time. A row a
// writer changed meanwhile is checked again and kept.
const trimBatch = `DELETE FROM "cached_items" WHERE "id" > ? AND "id" <= ? AND ` +
	`("updated_at" < ? OR "updated_at" < %[1]s OR ("updated_at" = %[1]s AND "id" <= ?))`

// HasTag returns an SQL condition, with one parameter (a tag), true for the
// entries that carry the tag, on the named database (List's Tag filter).
func HasTag(name string) string {
	if isPostgres(name) {
		return `COALESCE(jsonb_exists("tags", ?), false)`
	}
	if isMySQL(name) {
		return "COALESCE(JSON_CONTAINS(`tags`, JSON_QUOTE(?)), false)"
	}
	return `EXISTS (SELECT 1 FROM json_each("tags") AS "j" WHERE "j"."value" = ?)`
}

// tagCols names the columns of the tag and trim statements that return rows.
var tagCols = map[ID][]string{
	TagsOf:          {"tags"},
	SetTagged:       {"n"}, // on PostgreSQL, which counts the rows written
	AddTagged:       {"n"},
	IncrementTagged: {"n"},
	InvalidateTags:  {"n"},
	KeyCollation:    {"n"},
	TrimCutoff:      {"cut", "id"},
	TrimCutoffCount: {"cut", "id"},
	TrimNextID:      {"id"},
}
