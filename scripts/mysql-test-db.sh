#!/usr/bin/env bash
# Starts a MariaDB server of its own (Debian's mariadb-server; installed when
# missing) without systemd: its own data directory, on a loopback port, in the
# background. Creates the test user and database and prints the go-sql-driver
# DSN for CACHE_TEST_MYSQL_DSN on stdout. Safe to run again: a server already
# running on the port is reused.
#
# MYSQL_TEST_DIR (default /var/tmp/gormcache-mariadb) holds the data
# directory, socket and log; MYSQL_TEST_PORT (default 3307) is the port.
set -euo pipefail

log() { echo "mysql-test-db: $*" >&2; }

dir=${MYSQL_TEST_DIR:-/var/tmp/gormcache-mariadb}
port=${MYSQL_TEST_PORT:-3307}

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  log "installing mariadb-server from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq mariadb-server >&2
fi
mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)

sock=$dir/mysqld.sock
client() { mariadb --no-defaults -uroot --socket="$sock" "$@"; }

mkdir -p "$dir"
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
  # mariadbd refuses to run as root unless told; run it as the mysql user.
  user=mysql
  chown mysql:mysql "$dir"
fi

if ! client -e 'SELECT 1' >/dev/null 2>&1; then
  if [ ! -d "$dir/data/mysql" ]; then
    log "creating data directory $dir/data"
    mariadb-install-db --no-defaults --user="$user" --datadir="$dir/data" \
      --auth-root-authentication-method=socket --skip-test-db >"$dir/install.log" 2>&1 ||
      { cat "$dir/install.log" >&2; exit 1; }
  fi
  log "starting mariadbd on 127.0.0.1:$port"
  # setsid: the server outlives this script and the shell that ran it.
  # A 1 GiB buffer pool holds the benchmarks' 1M-row tables (about 250 MB
  # with their indexes); the default 128 MiB would measure the disk.
  setsid "$mariadbd" --no-defaults --user="$user" --datadir="$dir/data" \
    --socket="$sock" --pid-file="$dir/mysqld.pid" --port="$port" --bind-address=127.0.0.1 \
    --log-error="$dir/server.log" --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=1G --max-connections=500 </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 60); do
    client -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 1
  done
  if ! client -e 'SELECT 1' >/dev/null 2>&1; then
    log "mariadbd did not start; its log:"
    cat "$dir/server.log" >&2 || true
    exit 1
  fi
fi

# The tests create and drop a database per test: the user needs CREATE and
# DROP on databases named gormcache_test%.
client <<'SQL'
CREATE USER IF NOT EXISTS 'gormcache'@'127.0.0.1' IDENTIFIED BY 'gormcache';
CREATE USER IF NOT EXISTS 'gormcache'@'localhost' IDENTIFIED BY 'gormcache';
CREATE DATABASE IF NOT EXISTS gormcache_test CHARACTER SET utf8mb4;
GRANT ALL PRIVILEGES ON `gormcache\_test%`.* TO 'gormcache'@'127.0.0.1';
GRANT ALL PRIVILEGES ON `gormcache\_test%`.* TO 'gormcache'@'localhost';
-- A user that may not create routines, as on some hosted servers: the tests
-- check that AutoMigrate and tagged Sets work without the procedure.
CREATE USER IF NOT EXISTS 'gormcache_noroutine'@'127.0.0.1' IDENTIFIED BY 'gormcache';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE
  ON `gormcache\_test%`.* TO 'gormcache_noroutine'@'127.0.0.1';
SQL
echo "gormcache:gormcache@tcp(127.0.0.1:$port)/gormcache_test?parseTime=true&loc=UTC"
