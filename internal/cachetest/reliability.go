package cachetest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// LeakCheck records how many goroutines run now and returns a function that
// fails t unless the count drops back to at most that many within a few
// seconds. Call it once the databases the test uses are open (their pools
// own a goroutine each), and call the returned function at the end of the
// test body, before the pools close. It is only meaningful in a test that
// does not run in parallel with others.
func LeakCheck(t testing.TB) func() {
	t.Helper()
	base := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d running, %d before\n%s", n, base, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Cluster is a throwaway PostgreSQL server of the test's own, which it can
// stop and start again.
type Cluster struct {
	t    testing.TB
	dir  string // data directory, owned by the postgres user
	port int
	cred *syscall.Credential
	// DSN connects to the cluster's postgres database as the postgres user.
	DSN string
}

// NewCluster creates a cluster with initdb in a temporary directory and
// starts it on a free loopback port. It is stopped and removed when the test
// ends. When the process runs as root, the tools run as the postgres user,
// which initdb requires. It skips the test when initdb is not installed,
// except under CI=true, where it fails.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	initdb := pgTool("initdb")
	if initdb == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("initdb not found: CI must run the PostgreSQL fault tests")
		}
		t.Skip("initdb not found: install PostgreSQL to run this test")
	}
	c := &Cluster{t: t}
	root, err := os.MkdirTemp("", "gormcache-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(root, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	c.dir = filepath.Join(root, "data")
	c.run(initdb, "-D", c.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	c.port = freePort(t)
	c.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", c.port)
	c.Start()
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.dir, "postmaster.pid")); err == nil {
			c.pgctl("stop", "-m", "immediate")
		}
	})
	return c
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	c.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(c.dir, "..", "server.log"),
		"-o", fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c full_page_writes=off",
			c.port, filepath.Join(c.dir, "..")))
}

// Stop stops the server, disconnecting every client at once ("fast"
// shutdown mode).
func (c *Cluster) Stop() {
	c.t.Helper()
	c.pgctl("stop", "-w", "-m", "fast")
}

func (c *Cluster) pgctl(args ...string) {
	c.t.Helper()
	c.run(pgTool("pg_ctl"), append([]string{"-D", c.dir}, args...)...)
}

func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = filepath.Dir(c.dir)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "..", "server.log"))
		c.t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String(), log)
	}
}

// pgTool finds a PostgreSQL program on PATH or in Debian's location.
func pgTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) == 0 {
		return ""
	}
	return matches[len(matches)-1]
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// NewReplica makes a streaming replica of c with pg_basebackup -R and
// starts it on a free loopback port; it is stopped and removed when the test
// ends. initdb's defaults already let c serve it (wal_level=replica and a
// replication entry for 127.0.0.1 in pg_hba.conf). It skips the test when
// pg_basebackup is not installed, except under CI=true, where it fails.
func (c *Cluster) NewReplica() *Cluster {
	c.t.Helper()
	t := c.t
	basebackup := pgTool("pg_basebackup")
	if basebackup == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("pg_basebackup not found: CI must run the replica tests")
		}
		t.Skip("pg_basebackup not found: install PostgreSQL to run this test")
	}
	root, err := os.MkdirTemp("", "gormcache-replica-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if c.cred != nil {
		if err := os.Chown(root, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	r := &Cluster{t: t, cred: c.cred, dir: filepath.Join(root, "data")}
	r.run(basebackup, "-D", r.dir, "-R", "-X", "stream", "-c", "fast",
		"-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres")
	r.port = freePort(t)
	r.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", r.port)
	r.Start()
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(r.dir, "postmaster.pid")); err == nil {
			r.pgctl("stop", "-m", "immediate")
		}
	})
	return r
}
