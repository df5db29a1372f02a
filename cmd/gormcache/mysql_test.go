package main_test

import (
	"net/url"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/gormcache/cache/internal/cachetest"
)

// backends returns cachetest's backends with DSNs as the CLI takes them: the
// MySQL one as a mysql:// URL.
func backends(t *testing.T) []cachetest.Backend {
	t.Helper()
	bs := cachetest.Backends(t)
	for i, b := range bs {
		if b.Name == "mysql" {
			bs[i].DSN = mysqlURL(t, b.DSN)
		}
	}
	return bs
}

// mysqlURL turns a go-sql-driver DSN into a mysql:// URL.
func mysqlURL(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", User: url.UserPassword(cfg.User, cfg.Passwd), Host: cfg.Addr, Path: "/" + cfg.DBName}
	return u.String()
}

// TestMySQLURL: migrate creates the table in an empty MySQL database named
// by a mysql:// URL, the other commands use it, and the URL's password is
// masked when the server refuses it.
func TestMySQLURL(t *testing.T) {
	t.Parallel()
	b := cachetest.MySQL(t) // skips, or fails under CI, without a server
	u := mysqlURL(t, cachetest.NewDatabase(t, b.DSN))
	requireFail(t, gc(t, u, "set", "k", `"v"`), 1, "")
	requireOK(t, gc(t, u, "migrate"))
	requireOK(t, gc(t, u, "set", "k", `"v"`))
	res := gc(t, u, "get", "k")
	requireOK(t, res)
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	parsed.User = url.UserPassword(parsed.User.Username(), "wrong-secret")
	res = gc(t, parsed.String(), "stats")
	requireFail(t, res, 1, "mysql://"+parsed.User.Username()+":xxxxx@")
	require.NotContains(t, res.stderr, "wrong-secret")
}
