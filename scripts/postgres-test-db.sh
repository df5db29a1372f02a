#!/usr/bin/env bash
# Starts the machine's PostgreSQL (Debian's package; installed when missing)
# and creates the test role and database. Prints the DSN for
# CACHE_TEST_POSTGRES_DSN on stdout. Safe to run again.
set -euo pipefail

log() { echo "postgres-test-db: $*" >&2; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  log "installing postgresql from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  log "creating cluster $version main"
  pg_createcluster "$version" main >&2
  cluster="$version main"
fi
set -- $cluster
if ! pg_lsclusters --no-header | awk -v v="$1" -v n="$2" '$1==v && $2==n && $4=="online" {found=1} END {exit !found}'; then
  log "starting cluster $1 $2"
  pg_ctlcluster "$1" "$2" start >&2
fi
port=$(pg_lsclusters --no-header | awk -v v="$1" -v n="$2" '$1==v && $2==n {print $3}')

psql_admin() { su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qtA -c \"$1\"" ; }
for i in $(seq 1 30); do
  psql_admin "SELECT 1" >/dev/null 2>&1 && break
  sleep 1
done
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='gormcache'")" != "1" ]; then
  psql_admin "CREATE ROLE gormcache LOGIN PASSWORD 'gormcache' CREATEDB" >&2
fi
# The benchmarks take a CHECKPOINT before each timed run (PostgreSQL 15+).
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='pg_checkpoint'")" = "1" ]; then
  psql_admin "GRANT pg_checkpoint TO gormcache" >/dev/null 2>&1
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname='gormcache_test'")" != "1" ]; then
  psql_admin "CREATE DATABASE gormcache_test OWNER gormcache" >&2
fi
echo "postgres://gormcache:gormcache@127.0.0.1:$port/gormcache_test?sslmode=disable"
