#!/usr/bin/env bash
# Runs gormcache's benchmarks and writes BENCHMARKS.md at the repository
# root: the benchmarks are compiled once, then run in ROUNDS interleaved
# rounds (each round runs every benchmark once, -test.count 1), summarized
# with benchstat (a tool of bench/go.mod) and by cmd/report (medians, ratios
# to raw SQL, the issue's targets), followed by cmd/expiry and
# cmd/invalidation (INVALIDATION_ROWS, default EXPIRY_ROWS; 0 skips it).
#
#   bench/run.sh                       # everything: about 40 minutes
#   ROUNDS=2 BENCH='Ops/sqlite' EXPIRY_ROWS=100000 bench/run.sh   # a quick look
#
# LOAD=0 skips cmd/load (the multi-process load runs: about 10 minutes at the
# default LOAD_DURATION=5s and LOAD_PROCS=1,2,4,8 over SQLite with README's
# recommended settings, three PostgreSQL setups, MySQL and Redis, each
# skipped with a message as below when its DSN or redis-server is missing).
#
# OUT names the report (default: BENCHMARKS.md); KEEP_ROUNDS=file keeps
# the raw output of every round, for benchstat or a second look.
#
# PostgreSQL needs CACHE_TEST_POSTGRES_DSN (each benchmark works in a schema
# of its own and drops it), MySQL CACHE_TEST_MYSQL_DSN (a database of its
# own; scripts/mysql-test-db.sh starts a MariaDB server); Redis needs redis-server on PATH (the benchmark
# starts it on a free loopback port, persistence off). Without them those
# benchmarks are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-6}
BENCHTIME=${BENCHTIME:-1s}
EXPIRY_ROWS=${EXPIRY_ROWS:-1000000}
INVALIDATION_ROWS=${INVALIDATION_ROWS:-$EXPIRY_ROWS}
LOAD=${LOAD:-1}
LOAD_DURATION=${LOAD_DURATION:-5s}
LOAD_PROCS=${LOAD_PROCS:-1,2,4,8}
OUT=${OUT:-../BENCHMARKS.md}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
# CPU time the hypervisor gave to other guests ("steal"): on a shared
# virtual machine the main source of noise in these figures.
cpu0=$(head -1 /proc/stat)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== compiling"
go test -c -o "$work/bench.test" .
go build -o "$work/expiry" ./cmd/expiry
go build -o "$work/invalidation" ./cmd/invalidation
go build -o "$work/report" ./cmd/report
go build -o "$work/load" ./cmd/load
go tool -n benchstat >/dev/null # fetches and builds benchstat

# One process per pattern, so that the implementations of one operation run
# side by side in time, and the loads of the machine hit them alike.
if [ -n "${BENCH:-}" ]; then
  patterns=("$BENCH")
else
  patterns=()
  for op in GetHit GetMiss Set SetTagged3 SetRetagged3 Increment GetMany100 GetHitParallel SetParallel; do
    patterns+=("^BenchmarkOps\$/.*/.*/^$op\$")
  done
  # Tracing once per database: its none and sdk-sample-none runs, which the
  # target compares, then follow each other directly.
  patterns+=('^BenchmarkTracing$/.*/^sqlite$' '^BenchmarkTracing$/.*/^postgres$')
  # Metrics likewise; each process sets at most one global provider.
  patterns+=('^BenchmarkMetrics$/.*/^sqlite$' '^BenchmarkMetrics$/.*/^postgres$' '^BenchmarkScale$' '^BenchmarkPool$')
  patterns+=('^BenchmarkVsRaw$')
  patterns+=('^BenchmarkFetch$/^sqlite$' '^BenchmarkFetch$/^postgres$' '^BenchmarkFetch$/^mysql$' '^BenchmarkLock$')
fi

for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r of $ROUNDS ($(uptime | sed 's/.*load/load/'))"
  for p in "${patterns[@]}"; do
    BENCH_ROUND=$r "$work/bench.test" -test.run '^$' -test.bench "$p" -test.benchtime "$BENCHTIME" \
      -test.count 1 -test.benchmem -test.v >"$work/part.txt" 2>&1 || {
      tail -30 "$work/part.txt"; exit 1; }
    cat "$work/part.txt" >>"$work/all.txt"
  done
done
grep -h -- '--- SKIP' "$work/all.txt" | sort -u || true

if [ -n "${KEEP_ROUNDS:-}" ]; then cp "$work/all.txt" "$KEEP_ROUNDS"; fi

echo "== benchstat"
go tool benchstat "$work/all.txt" | sed "s|$work/||" >"$work/benchstat.txt"

expiry=""
if [ "$EXPIRY_ROWS" != 0 ]; then
  echo "== expiry ($EXPIRY_ROWS rows)"
  "$work/expiry" -rows "$EXPIRY_ROWS" | tee "$work/expiry.txt"
  expiry="$work/expiry.txt"
fi

invalidation=""
if [ "$INVALIDATION_ROWS" != 0 ]; then
  echo "== invalidation ($INVALIDATION_ROWS rows)"
  "$work/invalidation" -rows "$INVALIDATION_ROWS" | tee "$work/invalidation.txt"
  invalidation="$work/invalidation.txt"
fi

load=""
if [ "$LOAD" != 0 ]; then
  echo "== load (P = $LOAD_PROCS processes × 4 goroutines, $LOAD_DURATION per run)"
  "$work/load" -procs "$LOAD_PROCS" -duration "$LOAD_DURATION" >"$work/load.txt" 2>"$work/load-procs.txt" || {
    tail -30 "$work/load-procs.txt"; exit 1; }
  cat "$work/load.txt"
  load="$work/load.txt"
fi

{
  echo "CPUs: $(nproc), load average at the start: $load0, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$cpu0" "$(head -1 /proc/stat)" | awk '{t = 0; for (i = 2; i <= 9; i++) t += $(i + 11) - $i
    printf "CPU steal during the run: %.1f%% of CPU time (busy: %.1f%%)\n", 100 * ($20 - $9) / t, 100 * (t - ($16 - $5) - ($17 - $6)) / t}'
  echo "Redis: $(redis-server --version 2>/dev/null | cut -d' ' -f3 || echo 'not installed') (go-redis $(go list -m -f '{{.Version}}' github.com/redis/go-redis/v9))"
  echo "scs mysqlstore $(go list -m -f '{{.Version}}' github.com/alexedwards/scs/mysqlstore)"
  echo "scs sqlite3store/postgresstore $(go list -m -f '{{.Version}}' github.com/alexedwards/scs/sqlite3store)"
  echo "benchtime: $BENCHTIME per benchmark per round"
} >"$work/meta.txt"

"$work/report" -rounds "$work/all.txt" -benchstat "$work/benchstat.txt" -expiry "$expiry" -invalidation "$invalidation" \
  -meta "$work/meta.txt" -n "$ROUNDS" -command "bench/run.sh" -load "$load" >"$OUT"
echo "== wrote $OUT"
