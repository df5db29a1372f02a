package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
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
	// secrets are the passwords in dsn, which no message may show.
	secrets []string
}

// parseDatabase reads a --database value: postgres:// or postgresql:// is
// a PostgreSQL URL, and "host=… user=… password=…" a PostgreSQL key=value
// DSN (libpq's form); mysql:// is a MySQL or MariaDB URL; sqlite://PATH, file:… (an SQLite URI) or a plain
// path is SQLite. SQLite DSNs get the parameters of sqliteDefaults that
// they lack. A value that looks like a URL of another scheme, or holds a
// password, is refused rather than taken for a file name; no message shows
// a password, in any of its forms.
func parseDatabase(s string) (target, error) {
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return target{}, errors.New("empty database URL")
	case strings.TrimSpace(s) != s:
		return target{}, errors.New("database URL starts or ends with white space: remove it")
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return postgresURL(s)
	case strings.HasPrefix(lower, "mysql://"):
		return mysqlTarget(s)
	case strings.HasPrefix(lower, "mysql:"):
		return target{}, errors.New("invalid MySQL URL: write mysql://[user[:password]@]host[:port]/dbname")
	case strings.HasPrefix(lower, "postgres:"), strings.HasPrefix(lower, "postgresql:"):
		return target{}, errors.New("invalid PostgreSQL URL: write postgres://[user[:password]@]host[:port]/dbname")
	case isKeyValueDSN(s):
		return postgresKeyValue(s), nil
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
	case scheme(s) != "":
		return target{}, fmt.Errorf("unsupported database URL scheme %q: use postgres://, postgresql://, mysql://, sqlite://, file: or a path "+
			"(./%s for a file whose name has a colon)", scheme(s), scheme(s)+":…")
	case userinfo.MatchString(s) || passwordParam.MatchString(s):
		return target{}, errors.New("database URL holds a password but no postgres:// scheme: " +
			"write postgres://user:password@host/dbname")
	default:
		path, query, _ := strings.Cut(s, "?")
		return sqliteTarget(s, "file:"+escapePath(path), path, query)
	}
}

var (
	// passwordParam finds a password in a URL query or a key=value DSN
	// (quoted or not), libpq's sslpassword included.
	passwordParam = regexp.MustCompile(`(?i)\b((?:ssl)?password)\s*=\s*('(?:[^'\\]|\\.)*'|[^&\s]*)`)
	// userinfo finds "user:password@" before any slash: a URL without
	// its scheme.
	userinfo = regexp.MustCompile(`^[^/?#]*:[^/?#]*@`)
	// keyValueStart is the first keyword of a key=value DSN.
	keyValueStart = regexp.MustCompile(`^([a-z_]+)\s*=`)
)

// postgresURL reads a postgres:// URL. Its password may sit in the
// userinfo or in a password query parameter (pgx takes both).
func postgresURL(s string) (target, error) {
	secrets := passwordValues(s)
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the URL: keep only the reason, and not even the
		// part of the URL it quotes when a password may be in it (an
		// unencoded #, / or % cuts a password short where it stands).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if strings.Contains(s, "@") || len(secrets) > 0 {
			return target{}, fmt.Errorf("invalid PostgreSQL URL: %s (percent-encode the special characters of a password: # as %%23, / as %%2F, %% as %%25, @ as %%40)",
				quoted.ReplaceAllString(err.Error(), "…"))
		}
		return target{}, fmt.Errorf("invalid PostgreSQL URL: %w", err)
	}
	if pw, ok := u.User.Password(); ok {
		secrets = append(secrets, pw, url.PathEscape(pw), url.QueryEscape(pw))
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		// An unencoded # in the password ends the URL where it stands.
		return target{}, errors.New("invalid PostgreSQL URL: it has a #fragment (percent-encode # in a password as %23)")
	}
	shown := *u
	if _, ok := u.User.Password(); ok {
		shown.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	shown.RawQuery = maskPasswords(u.RawQuery)
	slices.Sort(secrets)
	// pgx takes only a lower-case scheme.
	scheme, rest, _ := strings.Cut(s, ":")
	return target{driver: "postgres", dsn: strings.ToLower(scheme) + ":" + rest, shown: shown.String(), secrets: slices.Compact(secrets)}, nil
}

// quoted finds the quoted parts of url's error messages.
var quoted = regexp.MustCompile(`"[^"]*"`)

// isKeyValueDSN reports whether s is a PostgreSQL key=value DSN: it starts
// with a libpq keyword and "=".
func isKeyValueDSN(s string) bool {
	m := keyValueStart.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	switch m[1] {
	case "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "sslmode", "sslrootcert",
		"sslcert", "sslkey", "sslpassword", "connect_timeout", "application_name", "options", "service",
		"target_session_attrs", "channel_binding", "client_encoding", "search_path":
		return true
	}
	return false
}

func postgresKeyValue(s string) target {
	return target{driver: "postgres", dsn: s, shown: maskPasswords(s), secrets: passwordValues(s)}
}

// maskPasswords writes xxxxx for the value of every password parameter.
func maskPasswords(s string) string {
	return passwordParam.ReplaceAllString(s, "${1}=xxxxx")
}

// passwordValues returns the values of the password parameters of s, as
// written and unquoted or unescaped.
func passwordValues(s string) []string {
	var out []string
	for _, m := range passwordParam.FindAllStringSubmatch(s, -1) {
		v := m[2]
		if v == "" {
			continue
		}
		out = append(out, v)
		if u, err := url.QueryUnescape(v); err == nil && u != v {
			out = append(out, u)
		}
		if len(v) >= 2 && v[0] == '\'' {
			out = append(out, strings.ReplaceAll(v[1:len(v)-1], `\'`, "'"))
		}
	}
	return out
}

// redact replaces every secret of t in err's message with xxxxx: the
// drivers' errors may quote the DSN (pgx masks only some forms).
func (t target) redact(err error) error {
	msg := err.Error()
	for _, sec := range t.secrets {
		if sec != "" {
			msg = strings.ReplaceAll(msg, sec, "xxxxx")
		}
	}
	if msg == err.Error() {
		return err
	}
	return redacted{msg: msg, err: err}
}

// redacted is an error whose message had passwords taken out. Unwrap
// gives errors.Is the original, which no message of the CLI prints.
type redacted struct {
	msg string
	err error
}

func (r redacted) Error() string { return r.msg }
func (r redacted) Unwrap() error { return r.err }

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

// scheme returns the URL scheme that s starts with ("jdbc" of
// "jdbc:postgresql://…"), or "". A single letter is a Windows drive, not a
// scheme.
func scheme(s string) string {
	sch, _, ok := strings.Cut(s, ":")
	if !ok || len(sch) < 2 {
		return ""
	}
	for i, r := range sch {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return ""
		}
	}
	return sch
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
		return nil, t.redact(fmt.Errorf("%s: %w", t.shown, err))
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
