package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// bin is the gormcache binary that TestMain builds; binDir holds it.
var bin, binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gormcache-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	bin = filepath.Join(dir, "gormcache")
	if err := build(bin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// build builds the binary into path.
func build(path string, flags ...string) error {
	cmd := exec.Command("go", append(append([]string{"build", "-o", path}, flags...), ".")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", strings.Join(flags, " "), err)
	}
	return nil
}

// raceBinary returns the binary built with the race detector when the tests
// run with it (go test -race), or else bin. The race detector slows every
// run of the binary several times, so only the long-running test uses it.
var raceBinary = sync.OnceValues(func() (string, error) {
	if !raceEnabled {
		return bin, nil
	}
	path := filepath.Join(binDir, "gormcache-race")
	return path, build(path, "-race")
})

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// run is how to run the binary once.
type run struct {
	dir   string   // working directory; a new temporary one if empty
	env   []string // added to the environment, which has no DATABASE_URL
	stdin *os.File // nil: /dev/null
}

func (r run) exec(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = r.dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = append(environ(), r.env...)
	if r.stdin != nil {
		cmd.Stdin = r.stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run gormcache %q: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// environ is the test's environment without DATABASE_URL.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	return env
}

// gc runs the binary on database dsn.
func gc(t *testing.T, dsn string, args ...string) result {
	t.Helper()
	return run{}.exec(t, append([]string{"--database", dsn}, args...)...)
}

// requireOK checks that r succeeded with nothing on stderr.
func requireOK(t *testing.T, r result) {
	t.Helper()
	require.Equal(t, 0, r.code, "exit status; stderr: %s", r.stderr)
	require.Empty(t, r.stderr)
}

// requireFail checks that r failed with exit status code, nothing on
// stdout, and a message on stderr that contains want, with no stack trace.
func requireFail(t *testing.T, r result, code int, want string) {
	t.Helper()
	require.Equal(t, code, r.code, "exit status; stdout: %s; stderr: %s", r.stdout, r.stderr)
	require.Empty(t, r.stdout)
	require.True(t, strings.HasPrefix(r.stderr, "gormcache: "), "stderr: %q", r.stderr)
	require.Contains(t, r.stderr, want)
	require.NotContains(t, r.stderr, "goroutine ")
	require.NotContains(t, r.stderr, "panic")
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if code == 1 {
		require.Len(t, lines, 1, "stderr: %q", r.stderr)
	} else {
		require.Len(t, lines, 2, "stderr: %q", r.stderr)
		require.Regexp(t, `^Run 'gormcache( [a-z-]+)? --help' for usage\.$`, lines[1])
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), got, "differs from %s (go test -update rewrites it)", path)
}

func count(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	st, err := cache.Stats(db)
	require.NoError(t, err)
	return st.Total
}

var commands = []string{"", "stats", "clear-expired", "clear-all", "migrate", "get", "set", "delete", "list", "admin",
	"invalidate", "delete-prefix", "trim", "locks", "unlock"}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands {
		name := "root"
		if c != "" {
			name = c
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// An unreachable database: help must not touch it.
			r := run{env: []string{"DATABASE_URL=postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=1"}}
			res := r.exec(t, strings.Fields(c+" --help")...)
			requireOK(t, res)
			golden(t, "help-"+name+".golden", res.stdout)
			// -h and "help CMD" print the same.
			requireOK(t, r.exec(t, strings.Fields(c+" -h")...))
			require.Equal(t, res.stdout, r.exec(t, strings.Fields(c+" -h")...).stdout)
			if c != "" {
				require.Equal(t, res.stdout, r.exec(t, "help", c).stdout)
			}
		})
	}
	t.Run("no command", func(t *testing.T) {
		t.Parallel()
		res := run{}.exec(t)
		requireOK(t, res)
		require.Contains(t, res.stdout, "Available Commands:")
		res = run{}.exec(t, "--version")
		requireOK(t, res)
		require.Regexp(t, `^gormcache version \S+\n$`, res.stdout)
	})
}

// fixedEntries writes three entries whose expiries do not depend on the clock.
func fixedEntries(t *testing.T, db *gorm.DB) {
	t.Helper()
	past := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	future := time.Date(2999, 12, 31, 23, 59, 59, 0, time.UTC)
	require.NoError(t, cache.Cached(db, "old").Set("gone", cache.At(past)))
	require.NoError(t, cache.Cached(db, "later").Set(map[string]any{"n": 1}, cache.At(future)))
	require.NoError(t, cache.Cached(db, "always").Set([]int{1, 2, 3}))
}

// valueBytes is the size of fixedEntries' values as List measures them:
// PostgreSQL's jsonb gives them back with spaces.
func valueBytes(backend string) string {
	if backend != "sqlite" && backend != "mysql" { // MariaDB keeps the text as given
		return "23" // "gone", {"n": 1}, [1, 2, 3]
	}
	return "20" // "gone", {"n":1}, [1,2,3]
}

// persistence is the relpersistence of the cache table: "p" for a logged
// table, "u" for an unlogged one.
func persistence(t *testing.T, db *gorm.DB) string {
	t.Helper()
	var p string
	require.NoError(t, db.Raw(`SELECT relpersistence::text FROM pg_class WHERE oid = 'cached_items'::regclass`).Scan(&p).Error)
	return p
}

var (
	sizeLine   = regexp.MustCompile(`(?m)^(size on disk +)\S.*$`)
	valuesLine = regexp.MustCompile(`(?m)^(values +)\S.*$`) // differs by database
)

func TestStats(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			empty := gc(t, b.DSN, "stats", "--json")
			requireOK(t, empty)
			require.JSONEq(t, `{"total":0,"live":0,"unexpired":0,"expired":0,"forever":0,"value_bytes":0,
				"size_bytes":`+sizeOf(t, empty.stdout)+`,"size_of":"`+sizeKind(b.Name)+`",
				"oldest_expiry":null,"newest_expiry":null}`, empty.stdout)

			fixedEntries(t, b.DB)
			res := gc(t, b.DSN, "stats")
			requireOK(t, res)
			require.Regexp(t, `(?m)^size on disk +\d+(\.\d)? (B|KiB|MiB)( \(whole database\))?$`, res.stdout)
			require.Regexp(t, `(?m)^values +`+valueBytes(b.Name)+` B$`, res.stdout)
			golden(t, "stats.golden", valuesLine.ReplaceAllString(sizeLine.ReplaceAllString(res.stdout, "${1}<size>"), "${1}<size>"))

			res = gc(t, b.DSN, "stats", "--json")
			requireOK(t, res)
			require.Equal(t, 1, strings.Count(res.stdout, "\n"), "one line of JSON")
			require.JSONEq(t, `{"total":3,"live":2,"unexpired":1,"expired":1,"forever":1,"value_bytes":`+valueBytes(b.Name)+`,
				"size_bytes":`+sizeOf(t, res.stdout)+`,"size_of":"`+sizeKind(b.Name)+`",
				"oldest_expiry":"2001-02-03T04:05:06Z","newest_expiry":"2999-12-31T23:59:59Z"}`, res.stdout)
		})
	}
}

// sizeOf returns the size_bytes of stats --json output, which must be
// positive.
func sizeOf(t *testing.T, out string) string {
	t.Helper()
	var st struct {
		SizeBytes *int64 `json:"size_bytes"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.NotNil(t, st.SizeBytes)
	require.Positive(t, *st.SizeBytes)
	return fmt.Sprint(*st.SizeBytes)
}

// sizeKind is what the size measures on a backend: SQLite as built by
// default has no dbstat table, so its size is the database file's.
func sizeKind(backend string) string {
	if backend == "sqlite" {
		return "database"
	}
	return "table"
}

func TestGetSetDelete(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			res := gc(t, b.DSN, "set", "user:1", `{"name":"Ada","langs":["en","fr"]}`)
			requireOK(t, res)
			require.Equal(t, "set \"user:1\", expires never\n", res.stdout)

			res = gc(t, b.DSN, "get", "user:1")
			requireOK(t, res)
			require.Equal(t, "{\n  \"name\": \"Ada\",\n  \"langs\": [\n    \"en\",\n    \"fr\"\n  ]\n}\n", res.stdout)
			res = gc(t, b.DSN, "get", "user:1", "--json")
			requireOK(t, res)
			require.JSONEq(t, `{"name":"Ada","langs":["en","fr"]}`, res.stdout)
			require.NotContains(t, res.stdout, " ")

			before := time.Now().UTC()
			res = gc(t, b.DSN, "set", "tmp", `42`, "--ttl", "10m", "--json")
			requireOK(t, res)
			var out struct {
				Key       string
				ExpiresAt time.Time `json:"expires_at"`
			}
			require.NoError(t, json.Unmarshal([]byte(res.stdout), &out))
			require.Equal(t, "tmp", out.Key)
			require.WithinRange(t, out.ExpiresAt, before.Add(10*time.Minute), time.Now().Add(10*time.Minute))
			var item cache.CachedItem
			require.NoError(t, b.DB.Where(&cache.CachedItem{Key: "tmp"}).First(&item).Error)
			require.NotNil(t, item.ExpiresAt)
			require.WithinDuration(t, out.ExpiresAt, *item.ExpiresAt, time.Millisecond)

			res = gc(t, b.DSN, "set", "past", `"x"`, "--at", "2001-02-03T05:05:06+01:00")
			requireOK(t, res)
			require.Equal(t, "set \"past\", expires 2001-02-03T04:05:06Z\n", res.stdout)
			requireFail(t, gc(t, b.DSN, "get", "past"), 1, `get "past": not found`)
			requireFail(t, gc(t, b.DSN, "get", "missing"), 1, `get "missing": not found`)

			res = gc(t, b.DSN, "delete", "user:1")
			requireOK(t, res)
			require.Equal(t, "deleted \"user:1\"\n", res.stdout)
			requireFail(t, gc(t, b.DSN, "delete", "user:1"), 1, `delete "user:1": not found`)
			res = gc(t, b.DSN, "delete", "past", "--json") // expired entries are deleted too
			requireOK(t, res)
			require.JSONEq(t, `{"deleted":"past"}`, res.stdout)
			require.EqualValues(t, 1, count(t, b.DB))

			requireFail(t, gc(t, b.DSN, "get", ""), 1, "invalid key")

			// json.Marshal, which the core library stores with, escapes
			// <, > and &; get prints them as they were given.
			requireOK(t, gc(t, b.DSN, "set", "html", `{"a":"<b>&amp;</b>","b":"\\u003c"}`))
			res = gc(t, b.DSN, "get", "html", "--json")
			requireOK(t, res)
			require.Equal(t, `{"a":"<b>&amp;</b>","b":"\\u003c"}`+"\n", res.stdout)
		})
	}
}

func TestSetRefusesBadJSON(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct{ value, want string }{
				{`hello`, `invalid JSON value: invalid character 'h' looking for beginning of value (a string needs quotes: '"hello"')`},
				{`{"a":`, "invalid JSON value: unexpected end of JSON input"},
				{`{"a" 1}`, "invalid JSON value: invalid character '1' after object key"},
				{`1 2`, "invalid JSON value: invalid character '2' after top-level value"},
				{``, "invalid JSON value: unexpected end of JSON input"},
				{`"\u0000"`, "invalid value: contains \\u0000"}, // refused by the core library
			} {
				requireFail(t, gc(t, b.DSN, "set", "k", tc.value), 1, `set "k": `+tc.want)
			}
			require.Zero(t, count(t, b.DB), "nothing written")
		})
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			res := gc(t, b.DSN, "list")
			requireOK(t, res)
			require.Equal(t, "KEY  STATUS  EXPIRES  SIZE  TAGS\n", res.stdout)
			res = gc(t, b.DSN, "list", "--json")
			requireOK(t, res)
			require.Equal(t, "[]\n", res.stdout)

			// Written one after the other, so "newest first" is the
			// reverse order.
			for _, e := range []struct{ key, value, at string }{
				{"user:1", `"ada"`, "2001-02-03T04:05:06Z"},
				{"user:2", `[1]`, "2999-12-31T23:59:59Z"},
				{"page:home", `"home"`, ""},
				{"user:3", `12345`, ""},
			} {
				args := []string{"set", e.key, e.value}
				if e.at != "" {
					args = append(args, "--at", e.at)
				}
				requireOK(t, gc(t, b.DSN, args...))
				time.Sleep(2 * time.Millisecond)
			}
			res = gc(t, b.DSN, "list")
			requireOK(t, res)
			require.Equal(t, `KEY        STATUS     EXPIRES               SIZE  TAGS
user:3     forever    never                  5 B
page:home  forever    never                  6 B
user:2     unexpired  2999-12-31T23:59:59Z   3 B
user:1     expired    2001-02-03T04:05:06Z   5 B
`, res.stdout)

			for _, tc := range []struct {
				args []string
				want string
			}{
				{[]string{"--json"}, `[{"key":"user:3","status":"forever","expires_at":null,"size":5,"tags":[]},{"key":"page:home","status":"forever","expires_at":null,"size":6,"tags":[]},
					{"key":"user:2","status":"unexpired","expires_at":"2999-12-31T23:59:59Z","size":3,"tags":[]},{"key":"user:1","status":"expired","expires_at":"2001-02-03T04:05:06Z","size":5,"tags":[]}]`},
				{[]string{"--expired", "--json"}, `[{"key":"user:1","status":"expired","expires_at":"2001-02-03T04:05:06Z","size":5,"tags":[]}]`},
				{[]string{"--live", "--json"}, `[{"key":"user:3","status":"forever","expires_at":null,"size":5,"tags":[]},{"key":"page:home","status":"forever","expires_at":null,"size":6,"tags":[]},
					{"key":"user:2","status":"unexpired","expires_at":"2999-12-31T23:59:59Z","size":3,"tags":[]}]`},
				{[]string{"--unexpired", "--json"}, `[{"key":"user:2","status":"unexpired","expires_at":"2999-12-31T23:59:59Z","size":3,"tags":[]}]`},
				{[]string{"--forever", "--json"}, `[{"key":"user:3","status":"forever","expires_at":null,"size":5,"tags":[]},{"key":"page:home","status":"forever","expires_at":null,"size":6,"tags":[]}]`},
				{[]string{"--prefix", "user:", "--json"}, `[{"key":"user:3","status":"forever","expires_at":null,"size":5,"tags":[]},
					{"key":"user:2","status":"unexpired","expires_at":"2999-12-31T23:59:59Z","size":3,"tags":[]},{"key":"user:1","status":"expired","expires_at":"2001-02-03T04:05:06Z","size":5,"tags":[]}]`},
				{[]string{"--prefix", "USER:", "--json"}, `[]`},
				{[]string{"--contains", "USER:", "--expired", "--json"}, `[{"key":"user:1","status":"expired","expires_at":"2001-02-03T04:05:06Z","size":5,"tags":[]}]`},
				{[]string{"--contains", "%", "--json"}, `[]`},
				{[]string{"--prefix", "user:", "--live", "--limit", "1", "--json"}, `[{"key":"user:3","status":"forever","expires_at":null,"size":5,"tags":[]}]`},
				{[]string{"--prefix", "%", "--json"}, `[]`},
			} {
				res := gc(t, b.DSN, append([]string{"list"}, tc.args...)...)
				requireOK(t, res)
				require.JSONEq(t, tc.want, res.stdout, "list %q", tc.args)
			}
			res = gc(t, b.DSN, "list", "--forever", "--limit", "1")
			requireOK(t, res)
			require.Equal(t, "KEY     STATUS   EXPIRES  SIZE  TAGS\nuser:3  forever  never     5 B\n", res.stdout)
		})
	}
}

func TestClearExpired(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fixedEntries(t, b.DB)
			res := gc(t, b.DSN, "clear-expired")
			requireOK(t, res)
			require.Equal(t, "deleted 1 expired entry\n", res.stdout)
			require.EqualValues(t, 2, count(t, b.DB))
			res = gc(t, b.DSN, "clear-expired", "--json")
			requireOK(t, res)
			require.JSONEq(t, `{"deleted":0}`, res.stdout)
			for i := range 3 {
				require.NoError(t, cache.Cached(b.DB, fmt.Sprint("e", i)).Set(i, cache.In(-time.Second)))
			}
			res = gc(t, b.DSN, "clear-expired")
			requireOK(t, res)
			require.Equal(t, "deleted 3 expired entries\n", res.stdout)
			require.EqualValues(t, 2, count(t, b.DB))
		})
	}
}

func TestClearExpiredEveryStopsOnSignal(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(b.Name+"/"+sig.String(), func(t *testing.T) {
				require.NoError(t, cache.Cached(b.DB, "stale").Set(1, cache.In(-time.Second)))
				raceBin, err := raceBinary()
				require.NoError(t, err)
				cmd := exec.Command(raceBin, "--database", b.DSN, "clear-expired", "--every", "50ms")
				cmd.Dir = t.TempDir()
				cmd.Env = environ()
				stdout, err := cmd.StdoutPipe()
				require.NoError(t, err)
				var stderr lockedBuffer // read while the process writes
				cmd.Stderr = &stderr
				require.NoError(t, cmd.Start())
				done := make(chan error, 1)
				lines := make(chan string)
				go func() {
					sc := bufio.NewScanner(stdout)
					for sc.Scan() {
						lines <- sc.Text()
					}
					close(lines)
					done <- cmd.Wait()
				}()
				t.Cleanup(func() { _ = cmd.Process.Kill() })

				line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ deleted (\d+) expired (entry|entries)$`)
				var got []string
				for len(got) < 3 {
					select {
					case l, ok := <-lines:
						require.True(t, ok, "gormcache exited early; stderr: %s", stderr.String())
						require.Regexp(t, line, l)
						got = append(got, l)
					case <-time.After(20 * time.Second):
						t.Fatalf("no output from clear-expired --every; stderr: %s", stderr.String())
					}
				}
				require.Contains(t, got[0], "deleted 1 expired entry", "the first run is at once")
				require.Contains(t, got[1], "deleted 0 expired entries")

				require.NoError(t, cmd.Process.Signal(sig))
				for range lines { // drain a run that was under way
				}
				select {
				case err := <-done:
					require.NoError(t, err, "clean exit on %v; stderr: %s", sig, stderr.String())
				case <-time.After(20 * time.Second):
					t.Fatalf("gormcache did not stop on %v", sig)
				}
				require.Equal(t, 0, cmd.ProcessState.ExitCode())
				require.Regexp(t, `^\S+ stopped\n$`, stderr.String())
			})
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestClearAll(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fixedEntries(t, b.DB)
			// stdin is /dev/null, and in CI no terminal at all.
			requireFail(t, gc(t, b.DSN, "clear-all"), 1, "stdin is not a terminal")
			requireFail(t, gc(t, b.DSN, "clear-all", "--json"), 1, "pass --yes")
			require.EqualValues(t, 3, count(t, b.DB), "nothing deleted")

			res := gc(t, b.DSN, "clear-all", "--yes")
			requireOK(t, res)
			require.Equal(t, "deleted 3 entries\n", res.stdout)
			require.Zero(t, count(t, b.DB))

			fixedEntries(t, b.DB)
			res = gc(t, b.DSN, "clear-all", "-y", "--json")
			requireOK(t, res)
			require.JSONEq(t, `{"deleted":3}`, res.stdout)
			require.Zero(t, count(t, b.DB))
		})
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := run{dir: dir}
		// Without --database and DATABASE_URL: cache.db in the working
		// directory, which only migrate creates.
		requireFail(t, r.exec(t, "stats"), 1, `cache.db: no such SQLite database file: run "gormcache migrate" to create it`)
		require.NoFileExists(t, filepath.Join(dir, "cache.db"))
		res := r.exec(t, "migrate")
		requireOK(t, res)
		require.Equal(t, "migrated table cached_items\n", res.stdout)
		require.FileExists(t, filepath.Join(dir, "cache.db"))
		res = r.exec(t, "migrate", "--json")
		requireOK(t, res)
		require.JSONEq(t, `{"migrated":"cached_items"}`, res.stdout)
		requireOK(t, r.exec(t, "set", "k", "1"))

		// An existing file without the table.
		other := filepath.Join(dir, "other.db")
		require.NoError(t, os.WriteFile(other, nil, 0o644))
		requireFail(t, r.exec(t, "-d", other, "stats"), 1, `table "cached_items" does not exist: run "gormcache migrate" first`)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := cachetest.Postgres(t).DSN // an empty schema of its own
		dsn = cachetest.NewSchema(t, dsn)
		requireFail(t, gc(t, dsn, "stats"), 1, `table "cached_items" does not exist: run "gormcache migrate" first`)
		requireFail(t, gc(t, dsn, "list"), 1, `table "cached_items" does not exist`)
		res := gc(t, dsn, "migrate", "--unlogged")
		requireOK(t, res)
		require.Equal(t, "migrated table cached_items; on PostgreSQL it is UNLOGGED: emptied after a crash, not replicated (undo with --logged)\n", res.stdout)
		db := cachetest.Reopen(t, cachetest.Backend{Name: "postgres", DSN: dsn})
		require.Equal(t, "u", persistence(t, db))
		requireOK(t, gc(t, dsn, "migrate"))
		require.Equal(t, "u", persistence(t, db), "a plain migrate keeps it unlogged")
		res = gc(t, dsn, "migrate", "--logged", "--json")
		requireOK(t, res)
		require.JSONEq(t, `{"migrated":"cached_items","persistence":"logged"}`, res.stdout)
		require.Equal(t, "p", persistence(t, db))
		requireFail(t, gc(t, dsn, "migrate", "--logged", "--unlogged"), 2, "--unlogged and --logged cannot be used together")
		res = gc(t, dsn, "stats", "--json")
		requireOK(t, res)
		require.Contains(t, res.stdout, `"total":0`)
	})
}

func TestDatabaseSelection(t *testing.T) {
	t.Parallel()
	a, b := cachetest.SQLite(t), cachetest.SQLite(t)
	require.NoError(t, cache.Cached(a.DB, "in-a").Set(1))
	require.NoError(t, cache.Cached(b.DB, "in-b").Set(1))
	env := run{env: []string{"DATABASE_URL=" + a.DSN}}

	res := env.exec(t, "get", "in-a")
	requireOK(t, res)
	require.Equal(t, "1\n", res.stdout)
	// --database wins over DATABASE_URL, in both spellings.
	requireOK(t, env.exec(t, "--database", b.DSN, "get", "in-b"))
	requireOK(t, env.exec(t, "-d", b.DSN, "get", "in-b"))
	requireOK(t, env.exec(t, "get", "in-b", "-d="+b.DSN))
	requireFail(t, env.exec(t, "-d", b.DSN, "get", "in-a"), 1, "not found")

	// Paths, sqlite:// and file: URLs name the same file.
	path := strings.TrimPrefix(strings.SplitN(a.DSN, "?", 2)[0], "file:")
	for _, dsn := range []string{path, "sqlite://" + path, "file:" + path, "file://" + path, "sqlite://" + path + "?_busy_timeout=2000"} {
		res := gc(t, dsn, "get", "in-a")
		requireOK(t, res)
		require.Equal(t, "1\n", res.stdout, dsn)
	}
	if pg, ok := postgres(t); ok {
		require.NoError(t, cache.Cached(pg.DB, "in-pg").Set(1))
		requireOK(t, run{env: []string{"DATABASE_URL=" + pg.DSN}}.exec(t, "get", "in-pg"))
		requireOK(t, gc(t, strings.Replace(pg.DSN, "postgres://", "postgresql://", 1), "get", "in-pg"))
	}
}

// postgres returns a PostgreSQL backend when the test server is configured
// (always in CI).
func postgres(t *testing.T) (cachetest.Backend, bool) {
	for _, b := range cachetest.Backends(t) {
		if b.Name == "postgres" {
			return b, true
		}
	}
	return cachetest.Backend{}, false
}

func TestBadDatabase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dsn, want string
	}{
		{"unsupported scheme", "oracle://u:p@localhost/db", `unsupported database URL scheme "oracle"`},
		{"bad mysql url", "mysql://u:secret@host:port/db", "invalid MySQL URL"},
		{"unreachable mysql", "mysql://u:secret@127.0.0.1:1/db?timeout=5s", "mysql://u:xxxxx@127.0.0.1:1/db"},
		{"bad url", "postgres://u:secret@host:port/db", "invalid PostgreSQL URL"},
		{"bad escape", "postgres://u:secret@localhost/%zz", "invalid PostgreSQL URL"},
		{"unreachable", "postgres://u:secret@127.0.0.1:1/db?connect_timeout=5", "postgres://u:xxxxx@127.0.0.1:1/db"},
		{"no such file", filepath.Join(t.TempDir(), "missing.db"), "no such SQLite database file"},
		{"no such dir", "sqlite:///nonexistent-dir/cache.db", "no such SQLite database file"},
		{"empty sqlite url", "sqlite://", "no path"},
		{"bad sqlite params", "cache.db?a=%zz", "invalid parameters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, r := range []run{{env: []string{"DATABASE_URL=" + tc.dsn}}, {}} {
				args := []string{"stats"}
				if len(r.env) == 0 {
					args = []string{"-d", tc.dsn, "stats"}
				}
				res := r.exec(t, args...)
				requireFail(t, res, 1, "gormcache: open database: ")
				require.Contains(t, res.stderr, tc.want)
				require.NotContains(t, res.stderr, "secret")
			}
		})
	}
	t.Run("migrate into a missing directory", func(t *testing.T) {
		t.Parallel()
		res := gc(t, filepath.Join(t.TempDir(), "no", "such", "dir.db"), "migrate")
		requireFail(t, res, 1, "gormcache: open database: ")
	})
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	db := cachetest.SQLite(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"stats", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"clear-all", "-x"}, "unknown shorthand flag: 'x' in -x"},
		{[]string{"bogus"}, `unknown command "bogus" for "gormcache"`},
		{[]string{"stat"}, `(did you mean "stats"?)`},
		{[]string{"stats", "extra"}, `stats: unexpected argument "extra"`},
		{[]string{"get"}, "get: missing argument KEY"},
		{[]string{"get", "a", "b"}, `get: unexpected argument "b"`},
		{[]string{"set", "k"}, "set: missing argument JSON"},
		{[]string{"set"}, "set: missing argument KEY JSON"},
		{[]string{"delete"}, "delete: missing argument KEY"},
		{[]string{"set", "k", "1", "--ttl", "soon"}, `invalid argument "soon" for "--ttl" flag`},
		{[]string{"set", "k", "1", "--ttl", "-1m"}, "--ttl must be positive"},
		{[]string{"set", "k", "1", "--at", "tomorrow"}, `--at "tomorrow" is not an RFC 3339 time`},
		{[]string{"set", "k", "1", "--ttl", "1m", "--at", "2030-01-01T00:00:00Z"}, "--ttl and --at cannot be used together"},
		{[]string{"list", "--expired", "--live"}, "cannot be used together"},
		{[]string{"list", "--limit", "-1"}, "--limit must not be negative"},
		{[]string{"list", "--limit", "x"}, `invalid argument "x" for "--limit" flag`},
		{[]string{"clear-expired", "--every", "0s"}, "--every must be positive"},
		{[]string{"clear-expired", "--every"}, "flag needs an argument: --every"},
		{[]string{"stats", "--json=maybe"}, `invalid argument "maybe" for "--json" flag`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			res := gc(t, db.DSN, tc.args...)
			requireFail(t, res, 2, tc.want)
		})
	}
	require.Zero(t, count(t, db.DB), "nothing written")
}

// --table names a cache kept in a table of its own: the commands see only
// its entries, and leave cached_items alone.
func TestTableFlag(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			other := cachetest.OtherTable(t, b.DB, "sessions_cache")
			now := time.Now().UTC().Truncate(time.Second)
			past := now.Add(-time.Hour)
			require.NoError(t, other.Create(&cache.CachedItem{Key: "s:1", Value: cache.JSON(`"x"`), ExpiresAt: &past, CreatedAt: now, UpdatedAt: now}).Error)
			require.NoError(t, cache.Cached(b.DB, "main:1").Set(1))

			res := gc(t, b.DSN, "list", "--table", "sessions_cache", "--json")
			requireOK(t, res)
			require.JSONEq(t, `[{"key":"s:1","status":"expired","expires_at":"`+past.Format(time.RFC3339Nano)+`","size":3,"tags":[]}]`, res.stdout)
			res = gc(t, b.DSN, "list", "--json")
			requireOK(t, res)
			require.Contains(t, res.stdout, `"main:1"`)
			require.NotContains(t, res.stdout, `"s:1"`)
			requireFail(t, gc(t, b.DSN, "list", "--table", "nowhere"), 1,
				`table "nowhere" does not exist: run "gormcache migrate --table nowhere" first`)

			res = gc(t, b.DSN, "stats", "--table", "sessions_cache", "--json")
			requireOK(t, res)
			require.Contains(t, res.stdout, `{"total":1,"live":0,"unexpired":0,"expired":1,"forever":0,"value_bytes":3,`)
			requireOK(t, gc(t, b.DSN, "set", "--table", "sessions_cache", "s:2", `"y"`))
			res = gc(t, b.DSN, "get", "--table", "sessions_cache", "s:2")
			requireOK(t, res)
			require.Equal(t, "\"y\"\n", res.stdout)
			requireFail(t, gc(t, b.DSN, "get", "s:2"), 1, "not found")
			requireOK(t, gc(t, b.DSN, "clear-expired", "--table", "sessions_cache"))
			requireOK(t, gc(t, b.DSN, "delete", "--table", "sessions_cache", "s:2"))
			res = gc(t, b.DSN, "stats", "--table", "sessions_cache", "--json")
			requireOK(t, res)
			require.Contains(t, res.stdout, `{"total":0,`)
			require.EqualValues(t, 1, count(t, b.DB), "cached_items untouched")
			requireOK(t, gc(t, b.DSN, "migrate", "--table", "fresh_cache"))
			require.True(t, b.DB.Migrator().HasTable("fresh_cache"))
			require.NoError(t, b.DB.Migrator().DropTable("fresh_cache"))
		})
	}
}
