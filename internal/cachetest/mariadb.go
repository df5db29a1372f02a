package cachetest

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the MySQL driver for the readiness check
)

// MariaDB is a throwaway MariaDB server of the test's own, which it can stop
// and start again.
type MariaDB struct {
	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
	user string
	// DSN connects to the server's gormcache database as root.
	DSN string
}

// NewMariaDB creates a data directory with mariadb-install-db in a
// temporary directory and starts mariadbd on a free loopback port, without
// grant tables (any user may connect). It is stopped and removed when the
// test ends. It skips the test when MariaDB is not installed, except under
// CI=true, where it fails.
func NewMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	install, _ := exec.LookPath("mariadb-install-db")
	if install == "" || mariadbd() == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("mariadbd not found: CI must run the MariaDB fault tests")
		}
		t.Skip("mariadbd not found: install mariadb-server to run this test")
	}
	root, err := os.MkdirTemp("", "gormcache-mariadb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	m := &MariaDB{t: t, dir: root, user: "mysql"}
	if os.Geteuid() != 0 {
		m.user = ""
	} else if out, err := exec.Command("chown", "mysql:mysql", root).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	args := []string{"--no-defaults", "--datadir=" + filepath.Join(root, "data"), "--skip-test-db"}
	if m.user != "" {
		args = append(args, "--user="+m.user)
	}
	if out, err := exec.Command(install, args...).CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	m.port = freePort(t)
	m.DSN = fmt.Sprintf("root@tcp(127.0.0.1:%d)/gormcache?parseTime=true&loc=UTC&timeout=5s", m.port)
	m.Start()
	t.Cleanup(func() {
		if m.cmd != nil {
			_ = m.cmd.Process.Kill()
			_ = m.cmd.Wait()
		}
	})
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/", m.port))
	if err == nil {
		_, err = db.Exec("CREATE DATABASE gormcache CHARACTER SET utf8mb4")
		_ = db.Close()
	}
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	return m
}

// Start starts the server and waits until it accepts connections.
func (m *MariaDB) Start() {
	m.t.Helper()
	args := []string{"--no-defaults", "--datadir=" + filepath.Join(m.dir, "data"),
		"--socket=" + filepath.Join(m.dir, "mysqld.sock"), "--pid-file=" + filepath.Join(m.dir, "mysqld.pid"),
		fmt.Sprintf("--port=%d", m.port), "--bind-address=127.0.0.1", "--skip-grant-tables",
		"--log-error=" + filepath.Join(m.dir, "server.log"), "--innodb-flush-log-at-trx-commit=0",
		"--character-set-server=utf8mb4"}
	if m.user != "" {
		args = append(args, "--user="+m.user)
	}
	m.cmd = exec.Command(mariadbd(), args...)
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("mariadbd: %v", err)
	}
	db, _ := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/?timeout=1s", m.port))
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for db.Ping() != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(m.dir, "server.log"))
			m.t.Fatalf("mariadbd did not start; its log:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop shuts the server down (SIGTERM: clients are disconnected) and waits
// for it to exit.
func (m *MariaDB) Stop() {
	m.t.Helper()
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		m.t.Fatalf("stop mariadbd: %v", err)
	}
	_ = m.cmd.Wait()
	m.cmd = nil
}

// mariadbd finds the server program on PATH or in Debian's location.
func mariadbd() string {
	if p, err := exec.LookPath("mariadbd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/mariadbd"); err == nil {
		return "/usr/sbin/mariadbd"
	}
	return ""
}
