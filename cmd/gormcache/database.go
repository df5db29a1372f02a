package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// defaultDatabase is the SQLite file used without --database and
// DATABASE_URL, in the working directory.
const defaultDatabase = "cache.db"

// sqliteParam is an SQLite DSN parameter of go-sqlite3.
type sqliteParam struct {
	name    string
	aliases []string
	value   string
}

// sqliteDefaults returns the SQLite parameters added when the DSN does not
// set them (or an alias of them): WAL lets readers run beside the writer,
// the busy timeout makes a writer wait for the lock instead of failing, and
// immediate transactions take the write lock up front.
func sqliteDefaults() []sqliteParam {
	return []sqliteParam{
		{"_journal_mode", []string{"_journal"}, "WAL"},
		{"_busy_timeout", []string{"_timeout"}, "10000"},
		{"_txlock", nil, "immediate"},
	}
}

// target is a parsed --database value.
type target struct {
	driver string // "postgres", "mysql" or "sqlite"
	dsn    string // for the driver
	// shown names the database in messages, without a password.
	shown string
	// file is the SQLite file, or "" for an in-memory database.
	file string
}

// parseDatabase reads a --database value: postgres:// or postgresql:// is
// PostgreSQL; mysql:// is MySQL or MariaDB; sqlite://PATH, file:… (an SQLite URI) or a plain path is
// SQLite. SQLite DSNs get the parameters of sqliteDefaults that they lack.
func parseDatabase(s string) (target, error) {
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return target{}, errors.New("empty database URL")
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil {
			// url.Error repeats the URL, password included: keep only
			// the reason.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return target{}, fmt.Errorf("invalid PostgreSQL URL: %w", err)
		}
		// pgx takes only a lower-case scheme.
		scheme, rest, _ := strings.Cut(s, ":")
		return target{driver: "postgres", dsn: strings.ToLower(scheme) + ":" + rest, shown: u.Redacted()}, nil
	case strings.HasPrefix(lower, "mysql://"):
		return mysqlTarget(s)
	case strings.HasPrefix(lower, "sqlite://"):
		rest := s[len("sqlite://"):]
		if rest == "" || rest[0] == '?' {
			return target{}, fmt.Errorf("invalid SQLite URL %q: no path", s)
		}
		path, query, _ := strings.Cut(rest, "?")
		return sqliteTarget(s, "file:"+escapePath(path), path, query)
	case strings.HasPrefix(lower, "file:"):
		uri, query, _ := strings.Cut(s, "?")
		uri = "file:" + uri[len("file:"):] // SQLite takes only a lower-case scheme
		path, err := url.PathUnescape(strings.TrimPrefix(uri[len("file:"):], "//"))
		if err != nil {
			return target{}, fmt.Errorf("invalid SQLite URI %q: %w", s, err)
		}
		return sqliteTarget(s, uri, path, query)
	case hasScheme(s):
		scheme, _, _ := strings.Cut(s, ":")
		return target{}, fmt.Errorf("unsupported database URL scheme %q: use postgres://, postgresql://, mysql://, sqlite://, file: or a path", scheme)
	default:
		path, query, _ := strings.Cut(s, "?")
		return sqliteTarget(s, "file:"+escapePath(path), path, query)
	}
}

// sqliteTarget builds the DSN "uri?query" with the default parameters
// added. path is the file's path, for the existence check.
func sqliteTarget(shown, uri, path, query string) (target, error) {
	params, err := url.ParseQuery(query)
	if err != nil {
		return target{}, fmt.Errorf("invalid parameters in SQLite DSN %q: %w", shown, err)
	}
	var add []string
	for _, d := range sqliteDefaults() {
		set := params.Has(d.name)
		for _, a := range d.aliases {
			set = set || params.Has(a)
		}
		if !set {
			add = append(add, d.name+"="+d.value)
		}
	}
	if query != "" {
		add = append([]string{query}, add...)
	}
	dsn := uri
	if len(add) > 0 {
		dsn += "?" + strings.Join(add, "&")
	}
	t := target{driver: "sqlite", dsn: dsn, shown: shown, file: path}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, ":memory:") || params.Get("mode") == "memory" {
		t.file = ""
	}
	return t, nil
}

// hasScheme reports whether s starts with a URL scheme and "://".
func hasScheme(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return false
	}
	for i, r := range scheme {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// escapePath escapes the characters that end or change the path of an
// SQLite URI.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// database opens the database of --database or DATABASE_URL, once.
type database struct {
	flag   string // the value of --database
	getenv func(string) string
	// create allows creating a missing SQLite file (migrate sets it).
	create bool
	db     *gorm.DB
}

// url returns --database, else $DATABASE_URL, else the default file.
func (d *database) url() string {
	if d.flag != "" {
		return d.flag
	}
	if v := d.getenv("DATABASE_URL"); v != "" {
		return v
	}
	return defaultDatabase
}

// open opens and pings the database. It is the open function of the cache
// command group.
func (d *database) open() (*gorm.DB, error) {
	if d.db != nil {
		return d.db, nil
	}
	t, err := parseDatabase(d.url())
	if err != nil {
		return nil, err
	}
	var dial gorm.Dialector
	switch t.driver {
	case "postgres":
		dial = postgres.Open(t.dsn)
	case "mysql":
		dial = mysqlDialector(t.dsn)
	default:
		if t.file != "" && !d.create {
			if _, err := os.Stat(t.file); errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%s: no such SQLite database file: run \"gormcache migrate\" to create it", t.shown)
			}
		}
		dial = sqlite.Open(t.dsn)
	}
	db, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.shown, err)
	}
	d.db = db
	return db, nil
}

// close closes the database if open opened it.
func (d *database) close() error {
	if d.db == nil {
		return nil
	}
	sqlDB, err := d.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
