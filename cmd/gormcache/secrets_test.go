package main_test

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPasswordsNeverShown gives the binary database URLs and DSNs with a
// password in every form it takes, well-formed and mistyped: each fails
// with exit status 1, no message shows the password or a part of it, and
// no file is created (a DSN is never taken for an SQLite file name).
func TestPasswordsNeverShown(t *testing.T) {
	t.Parallel()
	dsns := map[string]string{
		"query parameter":  "postgres://app@127.0.0.1:1/app?password=hunter2&sslmode=disable&connect_timeout=5",
		"key=value":        "host=127.0.0.1 port=1 user=app password=hunter2 dbname=app sslmode=disable connect_timeout=5",
		"key=value quoted": "host=127.0.0.1 port=1 user=app password='hunter2' dbname=app connect_timeout=5",
		"leading space":    " postgres://app:hunter2@127.0.0.1:1/app",
		"one slash":        "postgres:/app:hunter2@127.0.0.1:1/app",
		"jdbc":             "jdbc:postgresql://127.0.0.1:1/app?user=app&password=hunter2",
		"no scheme":        "app:hunter2@127.0.0.1:1/app",
		"unencoded #":      "postgres://app:hun#ter2@127.0.0.1:1/app",
		"unencoded /":      "postgres://app:hun/ter2@127.0.0.1:1/app",
		"unencoded %":      "postgres://app:hun%ter2@127.0.0.1:1/app",
		"digits then #":    "postgres://app:12#hunter2@127.0.0.1:1/app",
	}
	if pg, ok := postgres(t); ok {
		// A real server refusing a wrong password given as a parameter.
		u, err := url.Parse(pg.DSN)
		require.NoError(t, err)
		u.User = url.User(u.User.Username())
		q := u.Query()
		q.Set("password", "hunter2")
		u.RawQuery = q.Encode()
		dsns["wrong password, real server"] = u.String()
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, cmd := range []string{"stats", "migrate"} {
				dir := t.TempDir()
				for _, r := range []run{{dir: dir}, {dir: dir, env: []string{"DATABASE_URL=" + dsn}}} {
					args := []string{"-d", dsn, cmd}
					if len(r.env) > 0 {
						args = []string{cmd}
					}
					res := r.exec(t, args...)
					requireFail(t, res, 1, "gormcache: open database: ")
					for _, part := range []string{"hunter2", "hun", "ter2"} {
						require.NotContains(t, res.stderr, part, "%s: %s", cmd, res.stderr)
					}
				}
				files, err := os.ReadDir(dir)
				require.NoError(t, err)
				require.Empty(t, files, "%s created a file", cmd)
			}
		})
	}
}

// TestKeyValueDSNIsPostgres: libpq's key=value form reaches PostgreSQL.
func TestKeyValueDSNIsPostgres(t *testing.T) {
	t.Parallel()
	pg, ok := postgres(t)
	if !ok {
		t.Skip("needs CACHE_TEST_POSTGRES_DSN")
	}
	u, err := url.Parse(pg.DSN)
	require.NoError(t, err)
	pw, _ := u.User.Password()
	kv := strings.Join([]string{
		"host=" + u.Hostname(), "port=" + u.Port(), "user=" + u.User.Username(), "password=" + pw,
		"dbname=" + strings.TrimPrefix(u.Path, "/"), "sslmode=disable", "search_path=" + u.Query().Get("search_path"),
	}, " ")
	res := gc(t, kv, "stats")
	requireOK(t, res)
	require.Contains(t, res.stdout, "total")
}
