// Package dialect holds the SQL that gormcache runs, one set per database.
//
// It is the only place that switches on a GORM dialector's name. Every
// statement is written with "?" placeholders, the form GORM's Raw and Exec
// take; Native rewrites them into the driver's own form for statements that
// bypass GORM's callbacks.
package dialect

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Table is the name of the cache table unless a session names another.
const Table = "cached_items"

// quotedTable is how the statements below name the table; ForTable
// replaces it with another table's quoted name.
const quotedTable = `"cached_items"`

// ID numbers the fixed statements so that callers can keep one prepared
// statement per statement and connection pool in an array.
type ID int

// The fixed statements. Dynamic statements (SetMany) have no ID.
const (
	Get ID = iota
	Exists
	Set
	Add
	Increment
	ReadRaw
	Touch
	Delete
	GetMany
	DeleteMany
	Clear
	Stats
	ClearExpiredBatch
	// StatsSize is Stats plus the bytes of the values (the metrics' gauges).
	StatsSize
	// The statements of tags, DeletePrefix and Trim (tags.go).
	SetTagged
	AddTagged
	IncrementTagged
	TagsOf
	SyncTagsDelete
	SyncTagsInsert
	InvalidateTagsFirst
	InvalidateTags
	InvalidateTagsSweep
	DeletePrefix
	DeletePrefixScan
	KeyCollation
	TrimCutoff
	TrimCutoffCount
	TrimNextID
	TrimBatch
	TagsSweep
	// SetTaggedCall is MySQL's tagged Set in one round trip: the CALL of
	// the procedure of SetTaggedProcedure.
	SetTaggedCall
	// Fetch and locks: their SQL is in fetch.go.
	FetchGet
	FetchSet
	LockAcquire
	LockRelease
	LockExtend
	LockForceRelease
	LockList
	LockPrune
	// NumIDs is the number of fixed statements.
	NumIDs
)

// Stmt is one SQL statement in both placeholder forms.
type Stmt struct {
	ID       ID     // -1 for statements built at run time
	Portable string // "?" placeholders, for GORM's Raw and Exec
	Native   string // the driver's placeholders
	// Logged[i] returns Native and i-1 rows for GORM's logger: -1 (a
	// query: unknown), 0 or 1, the counts of single-key statements. Made
	// once, they spare an allocation per statement. Nil for statements
	// built at run time.
	Logged [3]func() (string, int64)
	// Cols names the columns a query returns, in order (each is a field of
	// the root package's result row); nil for statements without rows.
	Cols []string
}

// Dialect is the SQL for one database and one cache table.
type Dialect struct {
	Name string
	// TableName is the cache table, unquoted: "cached_items", another
	// table's name, or "schema.table".
	TableName string
	// Prepare is true where database/sql prepared statements pay off and
	// cost nothing in fidelity: SQLite, whose driver compiles the SQL of
	// every unprepared call. On PostgreSQL the driver keeps its own
	// statement cache (pgx) and honours its configuration (the simple
	// protocol, for PgBouncer), so statements are handed to it unprepared.
	Prepare bool
	// ClearBatch is the number of rows one ClearExpiredBatch statement
	// should delete. On PostgreSQL every statement commits and waits for a
	// WAL flush, so small batches cost: measured on 500,000 expired rows of
	// 1,000,000, batches of 1000 took 2.8× one bare DELETE, batches of
	// 10,000 1.2×, with the longest batch at 34 ms. SQLite deletes 1000 rows
	// in a few ms and holds the write lock meanwhile, so it keeps 1000.
	ClearBatch int
	// InsertID is true on MySQL, which has no RETURNING: Add, Touch and
	// Increment report what they did through the statement's insert id
	// and affected rows instead (see mysql.go).
	InsertID bool
	stmts    [NumIDs]Stmt
	dollar   bool
	// listKeys: GetMany and DeleteMany take one "?" per key ("IN (?)" is
	// expanded by Many) instead of one JSON array.
	listKeys bool
	// taggedRow is the VALUES row of a tagged upsert.
	taggedRow string
	// tables holds the dialects of other tables, shared by all of them.
	tables *tables
}

// Stmt returns the fixed statement id.
func (d *Dialect) Stmt(id ID) *Stmt { return &d.stmts[id] }

// Retryable reports whether err is MySQL's deadlock error (1213), after
// which a statement outside a transaction can simply run again.
func (d *Dialect) Retryable(err error) bool {
	return d.InsertID && err != nil && strings.Contains(err.Error(), "Error 1213 (40001)")
}

// RefusedValue reports whether err is MySQL's refusal of a value for the
// JSON column: 3140, invalid JSON text (MySQL 8 refuses numbers beyond a
// double's range, which the checks before every write let through), or
// 4025, MariaDB's failed JSON_VALID check.
func (d *Dialect) RefusedValue(err error) bool {
	if !d.InsertID || err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "Error 3140 (22032)") || strings.Contains(s, "Error 4025 (23000)")
}

// ListKeys reports whether GetMany and DeleteMany take one parameter per key
// (MySQL), so that a caller bounds the keys per statement.
func (d *Dialect) ListKeys() bool { return d.listKeys }

// Many returns GetMany or DeleteMany for n keys, and the keys as its
// arguments: one JSON array (jsonKeys) or, on MySQL, one argument per key.
// For one key on MySQL it is the statement as built, which the pool
// prepares once.
func (d *Dialect) Many(id ID, keys []string, jsonKeys func() (string, error)) (*Stmt, []any, error) {
	if !d.listKeys {
		arr, err := jsonKeys()
		return &d.stmts[id], []any{arr}, err
	}
	if len(keys) == 1 {
		return &d.stmts[id], []any{keys[0]}, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	q := strings.Replace(d.stmts[id].Portable, "IN (?)", "IN (?"+strings.Repeat(", ?", len(keys)-1)+")", 1)
	s := d.Build(q)
	s.Cols = d.stmts[id].Cols
	return &s, args, nil
}

// Build makes a run-time statement from portable SQL.
func (d *Dialect) Build(portable string) Stmt {
	return Stmt{ID: -1, Portable: portable, Native: d.native(portable)}
}

func (d *Dialect) native(q string) string {
	if !d.dollar {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// JSONType is the column type of a JSON value on the named database.
func JSONType(name string) string {
	switch name {
	case "postgres", "pgx":
		return "jsonb"
	case "mysql":
		return "json" // MariaDB: LONGTEXT with a JSON_VALID check
	default:
		return "text"
	}
}

// For returns the SQL for the GORM dialector with the given name and the
// table cached_items.
func For(name string) (*Dialect, error) {
	switch name {
	case "sqlite", "sqlite3":
		return &sqlite, nil
	case "postgres", "pgx":
		return &postgres, nil
	case "mysql":
		return &mysql, nil
	}
	return nil, fmt.Errorf("unsupported database %q (gormcache supports sqlite, postgres and mysql)", name)
}

// Column list and live-entry condition shared by both databases. A live
// entry never expires or expires at or after now (the bound parameter).
const (
	insertCols = `INSERT INTO "cached_items" ("key", "value", "expires_at", "created_at", "updated_at") VALUES `
	// setTail is Set's conflict clause.
	setTail = ` ON CONFLICT ("key") DO UPDATE SET ` +
		`"value" = excluded."value", "expires_at" = excluded."expires_at", "updated_at" = excluded."updated_at", ` +
		`"tags" = excluded."tags"`
	live = `("expires_at" IS NULL OR "expires_at" >= ?)`
	// expiredOld is true when the row in the table has expired; the
	// proposed row's created_at is "now".
	expiredOld = `"cached_items"."expires_at" < excluded."created_at"`
	// keepGone is true when Fetch may no longer serve the row stale: its
	// keep_until (NULL for rows no Fetch wrote) has passed the CTE's now.
	keepGone = `("keep_until" IS NULL OR "keep_until" < (SELECT "now" FROM "p"))`
)

var common = map[ID]string{
	Get:    `SELECT "value" FROM "cached_items" WHERE "key" = ? AND ` + live,
	Exists: `SELECT 1 AS "n" FROM "cached_items" WHERE "key" = ? AND ` + live,
	Set:    insertCols + `(?, ?, ?, ?, ?)` + setTail,
	// Add replaces only an expired row, as a fresh entry.
	Add: insertCols + `(?, ?, ?, ?, ?) ON CONFLICT ("key") DO UPDATE SET ` +
		`"value" = excluded."value", "expires_at" = excluded."expires_at", ` +
		`"created_at" = excluded."created_at", "updated_at" = excluded."updated_at", "tags" = excluded."tags" ` +
		`WHERE ` + expiredOld,
	ReadRaw: `SELECT "value" FROM "cached_items" WHERE "key" = ?`,
	Touch:   `UPDATE "cached_items" SET "expires_at" = ?, "updated_at" = ? WHERE "key" = ? AND ` + live,
	Delete:  `DELETE FROM "cached_items" WHERE "key" = ?`,
	Clear:   `DELETE FROM "cached_items"`,
	// FILTER (SQLite 3.30, PostgreSQL 9.4) skips the per-row CASE.
	Stats: `SELECT COUNT(*) AS "total", ` +
		`COUNT(*) FILTER (WHERE "expires_at" < ?) AS "expired", ` +
		`COUNT(*) FILTER (WHERE "expires_at" >= ?) AS "unexpired", ` +
		`COUNT(*) FILTER (WHERE "expires_at" IS NULL) AS "forever" FROM "cached_items"`,
}

// cols names the columns of the statements that return rows.
var cols = map[ID][]string{
	Get:       {"value"},
	Exists:    {"n"},
	ReadRaw:   {"value"},
	Increment: {"n"},
	GetMany:   {"key", "value"},
	Stats:     {"total", "expired", "unexpired", "forever"},
	StatsSize: {"total", "expired", "unexpired", "forever", "size"},
}

// statsSize is the StatsSize statement of the named database.
func statsSize(name string) string {
	return `SELECT COUNT(*) AS "total", ` +
		`COUNT(*) FILTER (WHERE "expires_at" < ?) AS "expired", ` +
		`COUNT(*) FILTER (WHERE "expires_at" >= ?) AS "unexpired", ` +
		`COUNT(*) FILTER (WHERE "expires_at" IS NULL) AS "forever", ` +
		`COALESCE(SUM(` + ValueSize(name) + `), 0) AS "size" FROM "cached_items"`
}

// incrementSet is the shared part of the increment upserts: a missing or
// expired entry becomes a fresh one holding delta with the new expiry; a live
// one keeps its expiry and creation time.
const incrementSet = ` ON CONFLICT ("key") DO UPDATE SET "value" = CASE WHEN ` + expiredOld + ` OR %[1]s("cached_items"."value") = 'null' ` +
	`THEN excluded."value" ELSE %[2]s END, ` +
	`"expires_at" = CASE WHEN ` + expiredOld + ` THEN excluded."expires_at" ELSE "cached_items"."expires_at" END, ` +
	`"created_at" = CASE WHEN ` + expiredOld + ` THEN excluded."created_at" ELSE "cached_items"."created_at" END, ` +
	`"updated_at" = excluded."updated_at", ` +
	`"tags" = CASE WHEN ` + expiredOld + ` THEN excluded."tags" ELSE "cached_items"."tags" END ` +
	`WHERE ` + expiredOld + ` OR %[1]s("cached_items"."value") = 'null' OR %[3]s `

// The increment upserts' conflict clauses. On SQLite the WHERE clause
// refuses (no row returned) a value that is not a JSON integer or whose sum
// would leave int64, so nothing is written and no SQL error aborts the
// caller's transaction. On PostgreSQL likewise; CASE keeps the numeric cast
// away from values that are not integers, since PostgreSQL does not
// short-circuit AND.
var (
	sqliteIncrement = fmt.Sprintf(incrementSet, "json_type",
		`CAST(json_extract("cached_items"."value", '$') + CAST(excluded."value" AS INTEGER) AS TEXT)`,
		`(json_type("cached_items"."value") = 'integer' AND CASE WHEN CAST(excluded."value" AS INTEGER) >= 0 `+
			`THEN json_extract("cached_items"."value", '$') <= 9223372036854775807 - CAST(excluded."value" AS INTEGER) `+
			`ELSE json_extract("cached_items"."value", '$') >= (-9223372036854775807 - 1) - CAST(excluded."value" AS INTEGER) END)`)
	sqliteIncrementReturning = `RETURNING CAST("value" AS INTEGER) AS "n"`
	pgIncrement              = fmt.Sprintf(incrementSet, "jsonb_typeof",
		`to_jsonb(CAST(CAST("cached_items"."value" AS text) AS bigint) + CAST(CAST(excluded."value" AS text) AS bigint))`,
		`CASE WHEN jsonb_typeof("cached_items"."value") = 'number' AND CAST("cached_items"."value" AS text) ~ '^-{0,1}[0-9]+$' `+
			`THEN CAST(CAST("cached_items"."value" AS text) AS numeric) + CAST(CAST(excluded."value" AS text) AS numeric) `+
			`BETWEEN -9223372036854775808 AND 9223372036854775807 ELSE false END`)
	pgIncrementReturning = `RETURNING CAST(CAST("value" AS text) AS bigint) AS "n"`
)

var sqlite = build("sqlite", false, true, 1000, map[ID]string{
	Increment:  insertCols + `(?, CAST(? AS TEXT), ?, ?, ?)` + sqliteIncrement + sqliteIncrementReturning,
	GetMany:    `SELECT "key", "value" FROM "cached_items" WHERE "key" IN (SELECT "value" FROM json_each(?)) AND ` + live,
	DeleteMany: `DELETE FROM "cached_items" WHERE "key" IN (SELECT "value" FROM json_each(?))`,
	// The statement holds SQLite's write lock from the subquery to the
	// delete, so no Set can revive a row in between.
	// A row that Fetch may still serve stale (keep_until) is kept.
	ClearExpiredBatch: `WITH "p" AS (SELECT ? AS "now") DELETE FROM "cached_items" WHERE "id" IN ` +
		`(SELECT "id" FROM "cached_items" WHERE "expires_at" < (SELECT "now" FROM "p") AND ` + keepGone +
		` ORDER BY "expires_at" LIMIT ?)`,
	StatsSize: statsSize("sqlite"),
})

var postgres = build("postgres", true, false, 10000, map[ID]string{
	Increment: insertCols + `(?, to_jsonb(CAST(? AS bigint)), ?, ?, ?)` + pgIncrement + pgIncrementReturning,
	// = ANY(ARRAY(...)) probes the key index; IN (SELECT ...) makes the
	// planner hash the keys and scan the whole table.
	GetMany: `SELECT "key", "value" FROM "cached_items" WHERE "key" = ANY(ARRAY(` +
		`SELECT jsonb_array_elements_text(CAST(? AS jsonb)))) AND ` + live,
	DeleteMany: `DELETE FROM "cached_items" WHERE "key" = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(? AS jsonb))))`,
	// = ANY(ARRAY(...)) keeps the planner on the expires_at index; IN
	// (SELECT ... LIMIT n) scans the whole table for every batch. Rows are
	// found by ctid (a TID scan, no primary-key lookups: half the cost of
	// "id" = ANY), and the outer expires_at condition is rechecked against
	// a row that a concurrent Set revived, which is then kept.
	// The CTE names the two parameters so that the recheck can reuse now.
	ClearExpiredBatch: `WITH "p" AS (SELECT CAST(? AS timestamptz) AS "now", CAST(? AS bigint) AS "n") ` +
		`DELETE FROM "cached_items" WHERE "ctid" = ANY(ARRAY(SELECT "ctid" FROM "cached_items" ` +
		`WHERE "expires_at" < (SELECT "now" FROM "p") AND ` + keepGone + ` ORDER BY "expires_at" LIMIT (SELECT "n" FROM "p"))) ` +
		`AND "expires_at" < (SELECT "now" FROM "p") AND ` + keepGone,
	StatsSize: statsSize("postgres"),
})

func build(name string, dollar, prepare bool, clearBatch int, own map[ID]string) Dialect {
	d := Dialect{Name: name, TableName: Table, Prepare: prepare, ClearBatch: clearBatch, dollar: dollar, tables: &tables{},
		taggedRow: taggedRows[name]}
	if name == "mysql" {
		d.InsertID, d.listKeys = true, true
	}
	for id := ID(0); id < NumIDs; id++ {
		q, ok := own[id]
		if !ok {
			q, ok = common[id]
		}
		if !ok {
			q, ok = tagSQL[name][id]
		}
		if !ok {
			q, ok = fetchSQL(name, id)
		}
		if !ok {
			panic("dialect: no SQL for statement " + strconv.Itoa(int(id)) + " on " + name)
		}
		d.stmts[id] = d.stmt(id, q)
	}
	return d
}

func (d *Dialect) stmt(id ID, portable string) Stmt {
	native := d.native(portable)
	c, ok := cols[id]
	if !ok {
		c, ok = tagCols[id]
	}
	if !ok {
		c = fetchCols[id]
	}
	s := Stmt{ID: id, Portable: portable, Native: native, Cols: c}
	for i := range s.Logged {
		rows := int64(i - 1)
		s.Logged[i] = func() (string, int64) { return native, rows }
	}
	return s
}

// Migrations returns the statements AutoMigrate runs after GORM has created
// or updated the table.
func (d *Dialect) Migrations(unlogged bool) []string {
	if d.Name != "postgres" {
		return nil
	}
	// Cache rows churn: vacuum after 10% of them changed, not the default 20%.
	m := []string{d.onTable(`ALTER TABLE "cached_items" SET (autovacuum_vacuum_scale_factor = 0.1)`)}
	if unlogged {
		// Only a logged table is rewritten; running it again is a no-op.
		m = append(m, d.onTable(`DO $$ BEGIN IF (SELECT relpersistence FROM pg_class WHERE oid = '"cached_items"'::regclass) = 'p' `+
			`THEN ALTER TABLE "cached_items" SET UNLOGGED; END IF; END $$`))
	}
	return m
}

// SetMany returns the upsert of n rows of (key, value, expires_at,
// created_at, updated_at) that SetMany runs, as Set does for one; with
// tagged, each row also has tags (a JSON array).
func (d *Dialect) SetMany(n int, tagged bool) Stmt {
	head, tail, row := insertCols, setTail, "(?, ?, ?, ?, ?)"
	if d.InsertID {
		head, tail = myInsert, mySetTail
	}
	if tagged {
		head, row = insertTaggedCols, d.taggedRow
		if d.InsertID {
			head = myInsertTagged
		}
	}
	var b strings.Builder
	b.Grow(len(head) + (len(row)+2)*n + len(tail))
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	p := d.onTable(b.String())
	return Stmt{ID: -1, Portable: p, Native: d.native(p)}
}

// MaxIdentifier is the longest identifier PostgreSQL keeps whole (NAMEDATALEN
// - 1 bytes); a longer one would be cut short without an error.
const MaxIdentifier = 63

// CheckTable returns an error unless name is a
// plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most MaxIdentifier bytes),
// optionally qualified by a schema written the same way ("schema.table").
// Only such names are ever written into SQL, always quoted.
func CheckTable(name string) error {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return fmt.Errorf("%q: at most one dot, between a schema and a table", name)
	}
	for _, p := range parts {
		if p == "" || len(p) > MaxIdentifier {
			return fmt.Errorf("%q: each part must be 1 to %d characters", name, MaxIdentifier)
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
				continue
			}
			return fmt.Errorf("%q: use letters, digits and underscores, not starting with a digit", name)
		}
	}
	return nil
}

// maxTables bounds how many tables' statements are kept per database.
// Beyond it, statements are built for each call.
const maxTables = 256

// tables maps how a session spells a table (its name, or GORM's quoted
// db.Table expression) to that table's dialect. Readers take no lock: the
// map is replaced, never changed.
type tables struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]*Dialect]
}

// Lookup returns the dialect stored under spelling by Remember, or nil.
func (d *Dialect) Lookup(spelling string) *Dialect {
	if m := d.tables.m.Load(); m != nil {
		return (*m)[spelling]
	}
	return nil
}

// Remember stores t under spelling for Lookup, and reports whether it did:
// it keeps at most maxTables spellings.
func (d *Dialect) Remember(spelling string, t *Dialect) bool {
	d.tables.mu.Lock()
	defer d.tables.mu.Unlock()
	old := d.tables.m.Load()
	if old != nil && (*old)[spelling] == t {
		return true
	}
	if old != nil && len(*old) >= maxTables {
		return false
	}
	m := make(map[string]*Dialect, 1)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[spelling] = t
	d.tables.m.Store(&m)
	return true
}

// ForTable returns the SQL of d's database for the cache table name (see
// CheckTable), cached. Tables beyond the first maxTables get statements made
// for the call and never prepared.
func (d *Dialect) ForTable(name string) (*Dialect, error) {
	if name == d.TableName {
		return d, nil
	}
	if t := d.Lookup(name); t != nil {
		return t, nil
	}
	if err := CheckTable(name); err != nil {
		return nil, err
	}
	base := &sqlite
	switch d.Name {
	case postgres.Name:
		base = &postgres
	case mysql.Name:
		base = &mysql
	}
	if name == Table {
		return base, nil
	}
	t := *base
	t.TableName = name
	for id := range t.stmts {
		t.stmts[id] = t.stmt(ID(id), t.onTable(base.stmts[id].Portable))
	}
	if !d.Remember(name, &t) {
		// Not kept, so made anew for every call: not worth preparing.
		t.Prepare = false
	}
	return &t, nil
}

// quoted returns the table's name quoted with q for SQL: "t" or "s"."t".
func (d *Dialect) quoted(q string) string {
	return q + strings.ReplaceAll(d.TableName, ".", q+"."+q) + q
}

// onTable rewrites SQL written for cached_items for d's table, whose name
// CheckTable accepted: the table's name in double quotes, or in backticks
// where a dialect's SQL quotes that way.
func (d *Dialect) onTable(q string) string {
	if d.TableName == Table {
		return q
	}
	q = strings.ReplaceAll(q, quotedTable, d.quoted(`"`))
	q = strings.ReplaceAll(q, quotedTagsTable, d.quotedTags(`"`))
	q = strings.ReplaceAll(q, "`"+Table+tagsSuffix+"`", d.quotedTags("`"))
	q = strings.ReplaceAll(q, "`"+Table+procSuffix+"`", d.quotedProc())
	return strings.ReplaceAll(q, "`"+Table+"`", d.quoted("`"))
}

// ValueSize returns an SQL expression for the length in bytes of an
// entry's value as JSON text on the named database (the metrics' size
// gauge; the inspection API measures the same way, in inspect.go).
// PostgreSQL's jsonb has no length of its own, so it is measured as text.
func ValueSize(name string) string {
	switch name {
	case "postgres", "pgx":
		return `octet_length(CAST("cached_items"."value" AS text))`
	case "mysql":
		return "LENGTH(`cached_items`.`value`)"
	}
	return `length(CAST("cached_items"."value" AS BLOB))`
}
