package dialect

// SetLogged returns the statement that turns an UNLOGGED cache table back
// into an ordinary, logged one on the named database, or "" where tables
// are always logged (SQLite). Its one parameter is the table (a GORM
// clause.Table, which GORM quotes). PostgreSQL rewrites an unlogged table
// and leaves a logged one as it is.
func SetLogged(name string) string {
	if isPostgres(name) {
		return `ALTER TABLE ? SET LOGGED`
	}
	return ""
}
