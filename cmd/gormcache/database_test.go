package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const defaults = "_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate"

func TestParseDatabase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in                string
		driver, dsn, file string
		shown             string // defaults to in
		secrets           []string
	}{
		{in: "postgres://u:pw@db:5432/app?sslmode=disable", driver: "postgres",
			dsn: "postgres://u:pw@db:5432/app?sslmode=disable", shown: "postgres://u:xxxxx@db:5432/app?sslmode=disable", secrets: []string{"pw"}},
		{in: "postgres://app@127.0.0.1:15432/app?password=hunter2&sslmode=disable", driver: "postgres",
			dsn:   "postgres://app@127.0.0.1:15432/app?password=hunter2&sslmode=disable",
			shown: "postgres://app@127.0.0.1:15432/app?password=xxxxx&sslmode=disable", secrets: []string{"hunter2"}},
		{in: "postgres://u:p%40ss@db/app?sslpassword=k%26ey", driver: "postgres", dsn: "postgres://u:p%40ss@db/app?sslpassword=k%26ey",
			shown: "postgres://u:xxxxx@db/app?sslpassword=xxxxx", secrets: []string{"k%26ey", "k&ey", "p%40ss", "p@ss"}},
		// libpq's key=value form is PostgreSQL.
		{in: "host=db user=app password=hunter2 dbname=app", driver: "postgres", dsn: "host=db user=app password=hunter2 dbname=app",
			shown: "host=db user=app password=xxxxx dbname=app", secrets: []string{"hunter2"}},
		{in: `dbname=app password='hun ter\'2' host=db`, driver: "postgres", dsn: `dbname=app password='hun ter\'2' host=db`,
			shown: "dbname=app password=xxxxx host=db", secrets: []string{`'hun ter\'2'`, "hun ter'2"}},
		{in: "postgresql://db/app", driver: "postgres", dsn: "postgresql://db/app"},
		{in: "POSTGRES://db/app", driver: "postgres", dsn: "postgres://db/app", shown: "postgres://db/app"},
		{in: "mysql://u:pw@db:3307/app", driver: "mysql",
			dsn: "u:pw@tcp(db:3307)/app?parseTime=true", shown: "mysql://u:xxxxx@db:3307/app", secrets: []string{"pw"}},
		{in: "MySQL://db/app?tls=true&timeout=5s", driver: "mysql",
			dsn: "tcp(db:3306)/app?parseTime=true&timeout=5s&tls=true", shown: "mysql://db/app?tls=true&timeout=5s"},
		{in: "mysql://u@127.0.0.1/app?parseTime=false", driver: "mysql",
			dsn: "u@tcp(127.0.0.1:3306)/app"},
		{in: "cache.db", driver: "sqlite", dsn: "file:cache.db?" + defaults, file: "cache.db"},
		{in: "/var/lib/app/cache.db", driver: "sqlite", dsn: "file:/var/lib/app/cache.db?" + defaults, file: "/var/lib/app/cache.db"},
		{in: "File:cache.db", driver: "sqlite", dsn: "file:cache.db?" + defaults, file: "cache.db"},
		{in: "SQLite://cache.db", driver: "sqlite", dsn: "file:cache.db?" + defaults, file: "cache.db"},
		{in: "sqlite://cache.db", driver: "sqlite", dsn: "file:cache.db?" + defaults, file: "cache.db"},
		{in: "sqlite:///abs/cache.db", driver: "sqlite", dsn: "file:/abs/cache.db?" + defaults, file: "/abs/cache.db"},
		{in: "sqlite://my dir/a#b%.db", driver: "sqlite", dsn: "file:my dir/a%23b%25.db?" + defaults, file: "my dir/a#b%.db"},
		{in: "file:cache.db", driver: "sqlite", dsn: "file:cache.db?" + defaults, file: "cache.db"},
		{in: "file:///abs/a%20b.db", driver: "sqlite", dsn: "file:///abs/a%20b.db?" + defaults, file: "/abs/a b.db"},
		{in: "file::memory:?cache=shared", driver: "sqlite", dsn: "file::memory:?cache=shared&" + defaults},
		{in: "file:x?mode=memory", driver: "sqlite", dsn: "file:x?mode=memory&" + defaults},
		// Parameters the DSN sets, or sets through an alias, are kept.
		{in: "cache.db?_busy_timeout=500", driver: "sqlite",
			dsn: "file:cache.db?_busy_timeout=500&_journal_mode=WAL&_txlock=immediate", file: "cache.db"},
		{in: "sqlite://cache.db?_journal=DELETE&_timeout=1&_txlock=deferred", driver: "sqlite",
			dsn: "file:cache.db?_journal=DELETE&_timeout=1&_txlock=deferred", file: "cache.db"},
		{in: `C:\data\cache.db`, driver: "sqlite", dsn: `file:C:\data\cache.db?` + defaults, file: `C:\data\cache.db`},
	} {
		got, err := parseDatabase(tc.in)
		require.NoError(t, err, tc.in)
		if tc.shown == "" {
			tc.shown = tc.in
		}
		require.Equal(t, target{driver: tc.driver, dsn: tc.dsn, shown: tc.shown, file: tc.file, secrets: tc.secrets}, got, tc.in)
	}
}

func TestParseDatabaseErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                  "empty database URL",
		"oracle://u@h/db":                   `unsupported database URL scheme "oracle": use postgres://, postgresql://, mysql://, sqlite://, file: or a path`,
		"mysql://h:x/db":                    `invalid MySQL URL: invalid port ":x" after host`,
		"mysql://u:pw@h:x/db":               `invalid MySQL URL: invalid port … after host (percent-encode`,
		"mysql://u:pw@h/d#b":                `invalid MySQL URL: it has a #fragment`,
		"mysql:/u:pw@h/db":                  "invalid MySQL URL: write mysql://",
		"mysql://u:pw@h/db?parseTime=maybe": `invalid MySQL URL mysql://u:xxxxx@h/db?parseTime=maybe: invalid bool value: maybe`,
		"redis://h":                         `unsupported database URL scheme "redis"`,
		"postgres://h:x/db":                 `invalid PostgreSQL URL: invalid port ":x" after host`,
		"postgres://h/%zz":                  `invalid PostgreSQL URL: invalid URL escape "%zz"`,
		"postgres://u:pw@h:x/db":            `invalid PostgreSQL URL: invalid port … after host (percent-encode`,
		"postgres://u:pw@h/%zz":             `invalid PostgreSQL URL: invalid URL escape …`,
		// Mistyped: refused, never taken for an SQLite file.
		" postgres://u:pw@h/db":              "database URL starts or ends with white space",
		"postgres:/u:pw@h/db":                "invalid PostgreSQL URL: write postgres://",
		"jdbc:postgresql://h/db?password=pw": `unsupported database URL scheme "jdbc"`,
		"u:pw@h/db":                          "database URL holds a password but no postgres:// scheme",
		"h/db?password=pw":                   "database URL holds a password but no postgres:// scheme",
		"sqlite://":                          `invalid SQLite URL "sqlite://": no path`,
		"sqlite://?_txlock=x":                `no path`,
		"cache.db?a=%zz":                     `invalid parameters in SQLite DSN "cache.db?a=%zz"`,
		"file:/a/%zz.db":                     `invalid SQLite URI "file:/a/%zz.db"`,
	} {
		_, err := parseDatabase(in)
		require.ErrorContains(t, err, want, in)
		require.NotContains(t, err.Error(), "pw", "no password in %q", err)
	}
}

func TestDatabaseURLPrecedence(t *testing.T) {
	t.Parallel()
	env := map[string]string{}
	d := &database{getenv: func(k string) string { return env[k] }}
	require.Equal(t, "cache.db", d.url())
	env["DATABASE_URL"] = "postgres://h/env"
	require.Equal(t, "postgres://h/env", d.url())
	d.flag = "flag.db"
	require.Equal(t, "flag.db", d.url())
}
