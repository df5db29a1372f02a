package cachetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// PgBouncer opens a migrated, empty schema of its own, as Postgres does,
// but through a PgBouncer in transaction pooling mode (what apps behind a
// pooler see: consecutive transactions may run on different server
// connections, and nothing prepared on one is on the next), with
// PreferSimpleProtocol as PgBouncer's users set it. One PgBouncer serves the
// whole test binary, started on a free loopback port on first use and
// killed when the binary exits. It skips the test when the DSN or the
// pgbouncer program is missing, or fails it under CI=true.
func PgBouncer(t testing.TB) Backend {
	t.Helper()
	b, ok := pgBouncerOrSkip(t)
	if !ok {
		t.SkipNow()
	}
	return b
}

func pgBouncerOrSkip(t testing.TB) (Backend, bool) {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		// postgresOrSkip has said why.
		return Backend{}, false
	}
	bin := findPgBouncer()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("pgbouncer not found: CI must run the PgBouncer tests (apt-get install pgbouncer)")
		}
		t.Log("skipping PgBouncer: install pgbouncer to run it")
		return Backend{}, false
	}
	pb, err := bouncer.start(bin, base)
	if err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	schemaDSN := NewSchema(t, base)
	u, _ := url.Parse(schemaDSN)
	schema := u.Query().Get("search_path")
	alias, err := pb.add(schema, u)
	if err != nil {
		t.Fatalf("pgbouncer: %v", err)
	}
	t.Cleanup(func() { pb.remove(alias) })
	dsn := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable&default_query_exec_mode=simple_protocol",
		url.User(u.User.Username()).String(), pb.port, alias)
	if err := pb.waitFor(dsn); err != nil {
		t.Fatalf("pgbouncer: %v", err)
	}
	db, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn, PreferSimpleProtocol: true}), Config())
	if err != nil {
		t.Fatalf("open pgbouncer: %v", err)
	}
	closeOnCleanup(t, db)
	if err := cache.AutoMigrate(db); err != nil {
		t.Fatalf("migrate through pgbouncer: %v", err)
	}
	return Backend{Name: "pgbouncer", DB: db, DSN: dsn}, true
}

func findPgBouncer() string {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/pgbouncer"); err == nil {
		return "/usr/sbin/pgbouncer"
	}
	return ""
}

// bouncer is the test binary's PgBouncer.
var bouncer pgBouncerProc

type pgBouncerProc struct {
	once sync.Once
	err  error
	bin  string
	dir  string
	port int
	cred *syscall.Credential
	pid  int

	mu      sync.Mutex
	target  string            // host=... port=... dbname=... user=... password=...
	aliases map[string]string // alias -> schema
	n       int
}

func (p *pgBouncerProc) start(bin, base string) (*pgBouncerProc, error) {
	p.once.Do(func() { p.err = p.launch(bin, base) })
	return p, p.err
}

func (p *pgBouncerProc) launch(bin, base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	pass, _ := u.User.Password()
	p.target = fmt.Sprintf("host=%s port=%s dbname=%s user=%s password=%s",
		host, port, strings.TrimPrefix(u.Path, "/"), u.User.Username(), pass)
	p.bin = bin
	p.aliases = map[string]string{}
	if p.dir, err = os.MkdirTemp("", "gormcache-pgbouncer-"); err != nil {
		return err
	}
	// PgBouncer refuses to run as root: run it as the postgres user.
	if os.Geteuid() == 0 {
		pu, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(pu.Uid)
		gid, _ := strconv.Atoi(pu.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(p.dir, uid, gid); err != nil {
			return err
		}
	}
	if p.port, err = freePortErr(); err != nil {
		return err
	}
	if err := p.writeConfig(); err != nil {
		return err
	}
	started := make(chan error, 1)
	// Pdeathsig kills PgBouncer when the thread that started it ends, so
	// that thread stays locked to a goroutine that lives as long as the
	// process: PgBouncer goes when the test binary goes.
	go func() {
		runtime.LockOSThread()
		cmd := exec.Command(p.bin, filepath.Join(p.dir, "pgbouncer.ini"))
		cmd.Dir = p.dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		err := cmd.Wait()
		// Only a crash gets here while tests run; say so on stderr, as the
		// tests that then fail to connect cannot see it.
		fmt.Fprintf(os.Stderr, "pgbouncer exited: %v\n%s", err, out.String())
	}()
	if err := <-started; err != nil {
		return err
	}
	// Until it listens, PgBouncer has no SIGHUP handler: a reload would
	// kill it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(p.dir, "pgbouncer.log"))
			return fmt.Errorf("not listening after 20s: %v\nlog:\n%s", err, lastLines(log, 20))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeConfig writes pgbouncer.ini with one database per schema: PgBouncer
// 1.18 cannot carry a client's search_path to the server, so each schema
// gets an alias whose server connections set it when they connect.
func (p *pgBouncerProc) writeConfig() error {
	var b strings.Builder
	b.WriteString("[databases]\n")
	for alias, schema := range p.aliases {
		fmt.Fprintf(&b, "%s = %s pool_size=4 connect_query='SET search_path TO %s'\n", alias, p.target, schema)
	}
	fmt.Fprintf(&b, `[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 500
server_idle_timeout = 10
ignore_startup_parameters = extra_float_digits
logfile = %s
pidfile = %s
`, p.port, filepath.Join(p.dir, "pgbouncer.log"), filepath.Join(p.dir, "pgbouncer.pid"))
	path := filepath.Join(p.dir, "pgbouncer.ini")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// add gives schema an alias and reloads PgBouncer.
func (p *pgBouncerProc) add(schema string, _ *url.URL) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	alias := fmt.Sprintf("gormcache_%d", p.n)
	p.aliases[alias] = schema
	return alias, p.reload()
}

func (p *pgBouncerProc) remove(alias string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.aliases, alias)
	_ = p.reload()
}

// reload rewrites the configuration and tells PgBouncer to read it (SIGHUP).
func (p *pgBouncerProc) reload() error {
	if err := p.writeConfig(); err != nil {
		return err
	}
	if p.pid == 0 {
		return nil
	}
	return syscall.Kill(p.pid, syscall.SIGHUP)
}

// waitFor waits until PgBouncer serves dsn: it reloads asynchronously.
func (p *pgBouncerProc) waitFor(dsn string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT 1")
			_ = conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(p.dir, "pgbouncer.log"))
			return fmt.Errorf("not serving %s after 20s: %v\nlog:\n%s", dsn, err, lastLines(log, 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func freePortErr() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
