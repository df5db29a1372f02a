// Package cache is a cache for JSON values with optional expiry, stored in
// the database a GORM application already has (SQLite, PostgreSQL or
// MySQL/MariaDB), so it
// needs no Redis or other service.
//
// # Entries
//
// [Cached] names an entry; its methods read and write it:
//
//	err := cache.Cached(db, "greeting").Set("hello", cache.In(time.Minute))
//
//	var s string
//	ok, err := cache.Cached(db, "greeting").Get(&s) // ok is false on a miss
//
// Values are anything encoding/json can encode; they are stored as JSON
// (jsonb on PostgreSQL, TEXT on SQLite, JSON on MySQL) and decoded with json.Unmarshal. The
// generic helpers [Get], [GetOrSet] and [GetMany] decode into a type
// parameter. [Entry.Add] writes only when the key is free and
// [Entry.Increment] is an atomic counter; both are single SQL statements,
// safe under concurrency on every database.
//
// # Expiry
//
// Writes take an optional [Expiration]: [In] a duration, [At] a time, or
// [Seconds] (plain.cache's form). Without one an entry never expires.
// Expired entries read as absent but stay in the table until [ClearExpired]
// deletes them: reads never write. Run ClearExpired from a periodic job, or
// start [RunClearExpired] in a goroutine.
//
// # Serving through failures
//
// [Fetch] is GetOrSet for values that are slow or fail to load: past its
// TTL an entry may still be served by Fetch (and only by Fetch) while a
// background refresh runs ([FetchOptions].Stale), in place of a failed or
// slow load (FailSafe, SoftTimeout, HardTimeout), with one load per key
// across processes through a database lock (Lock). [Lock] is that lock for
// any work: a named lock in the database, with an owner and a ttl.
//
// # GORM integration
//
// Every function runs on the *gorm.DB it is given and never changes it:
// db.WithContext(ctx) bounds a call by ctx, and the tx of db.Transaction
// makes calls part of the transaction (they commit or roll back with it).
// The table is the GORM model [CachedItem]; create it with [AutoMigrate] and
// query it with the scopes [Expired], [Unexpired], [Forever] and [Live].
//
// db.Table(name) names the cache table: every function, AutoMigrate and the
// scopes work on it, so one database can hold independent caches. Clauses
// that would change the cache's SQL (Where, Select, Scopes, ...) fail with
// [ErrUnsupportedSession]; dbresolver's Write, Read and Use are honoured. A
// DryRun session executes nothing: reads miss and writes write nothing.
// The model's columns are pinned, so any NamingStrategy gives the same
// columns; its table, like any model with a TableName method, gets no
// TablePrefix.
//
// The package imports no database driver: the application opens the
// database with gorm.io/driver/sqlite or gorm.io/driver/postgres.
//
// # Inspection
//
// [List] pages through the entries (newest first, filtered by [Status] and
// key, with a keyset cursor) without reading their values; [Inspect] reads
// one entry with its value, expired or not; [Stats] counts the entries by
// status in one query and [Measure] adds sizes and the range of expiry
// times. One word names each status everywhere: live (what reads see),
// unexpired, expired and forever; see [Status].
//
// # Speed
//
// Reads and writes skip GORM's statement builder and run fixed SQL on the
// session's connection (the pool or the caller's transaction): prepared once
// per pool and table on SQLite and MySQL, handed to the driver's own
// statement cache on PostgreSQL (so PreferSimpleProtocol and PgBouncer
// work). When a GORM
// plugin is registered (otelgorm, dbresolver, ...), a callback is registered
// by hand on the Query or Raw processor, or the session is a DryRun,
// statements run through GORM instead (reads as db.Raw(...).Find, writes as
// db.Exec), so the callbacks see them.
//
// # Invalidation and bounded size
//
// Writes through a [WithTags] session tag their entries; [InvalidateTags]
// deletes every entry carrying a tag, [DeletePrefix] every key with a
// prefix (a range of the key index). [Trim] (or [RunTrim]) bounds the table
// by entries, bytes and age, deleting in batches. The tags live on the entry
// row and in a side table <table>_tags that AutoMigrate creates; only tagged
// writes touch it.
//
// # Tracing
//
// Each operation opens an OpenTelemetry span named cache.<op> (cache.get,
// cache.set, cache.increment, ...) from the global TracerProvider, with the
// attributes cache.key, cache.hit on reads and cache.item.expires_at on
// writes. Keys can hold personal data: [WithoutKeyAttribute] leaves them out.
// With otelgorm registered, its DB spans are children of the cache spans.
//
// # Metrics
//
// Each operation records its duration in the histogram
// cache.operation.duration (seconds) of the global MeterProvider, with the
// attributes cache.operation (get, set, get_many, ...), cache.hit on reads,
// error.type on failure and db.system.name. [ObserveStats] adds the gauges
// cache.entries (by cache.status: live, expired, forever) and cache.size.
// Without a MeterProvider nothing is measured.
//
// # Errors
//
// Invalid input fails before the database is touched, with an error that
// wraps [ErrInvalidKey], [ErrInvalidValue], [ErrInvalidExpiration],
// [ErrInvalidTable], [ErrInvalidTag] or [ErrUnsupportedSession];
// [ErrNotNumber] and [ErrOverflow] come from Increment and Decrement.
// [ErrBusy] reports a SQLite write that waited longer than the busy timeout
// for another writer's lock. Every error names the operation and key, as in
// `cache: set "k": ...`.
//
// # Where things are
//
// One concern per file of this package:
//
//	cached.go        Cached and the entry methods, Get[T]
//	bulk.go          GetMany, SetMany, DeleteMany, Clear
//	values.go        which keys and values can be stored, and their JSON
//	getorset.go      GetOrSet and its flights
//	fetch.go         Fetch and FetchOptions: fresh, stale and fail-safe reads
//	fetchload.go     Fetch's loads: flights, its lock, storing, fail-safe pauses
//	lock.go          database locks (NewLock, ListLocks, ...)
//	insertid.go      MySQL's write answers, read from the insert id
//	numbers.go       the JSON numbers both databases store alike
//	expiration.go    In, At, Seconds
//	model.go         the CachedItem model and its JSON column
//	scopes.go        the status scopes
//	inspect.go       List, Inspect, Measure and the Status vocabulary
//	chores.go        ClearExpired, RunClearExpired, Stats
//	tags.go          WithTags, InvalidateTags, Entry.Tags, DeletePrefix
//	trim.go          Trim, RunTrim, Limits
//	automigrate.go   AutoMigrate and its options
//	session.go       what the caller's *gorm.DB asks: table, clauses, callbacks
//	conn.go          how statements reach the database (fast path, GORM path)
//	rows.go, drain.go  the rows of a query on either path, read to the end
//	busy.go          waiting for SQLite's write lock (ErrBusy)
//	clock.go         the time expiries are compared with
//	trace.go         OpenTelemetry spans
//	metrics.go       OpenTelemetry metrics (ObserveStats)
//	errors.go        the sentinel errors
//
// All SQL, and every switch on the database, is in internal/dialect. The
// command line (cachecli, cmd/gormcache) and the admin page (cacheadmin)
// use this package's exported API only: no SQL, no GORM queries of their
// own, no internal packages. A feature for the front ends is added here
// first, so each database's SQL is written once.
package cache
