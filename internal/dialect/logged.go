package dialect

// SetLogged returns the statement that turns an UNLOGGED cache table back
// into a logged one on the named database, or "" where tables are always
// logged (SQLite). Only an unlogged table is rewritten; running it again is
// a no-op.
func SetLogged(name string) string {
	if isPostgres(name) {
		return `DO $$ BEGIN IF (SELECT relpersistence FROM pg_class WHERE oid = 'cached_items'::regclass) = 'u' ` +
			`THEN ALTER TABLE "cached_items" SET LOGGED; END IF; END $$`
	}
	return ""
}
