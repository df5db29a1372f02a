#!/usr/bin/env bash
# Runs each fuzz target of the root package for a number of inputs (default
# 5000 each, FUZZ_EXECS to change). The budget is a count, not a duration: Go
# 1.26's fuzz coordinator can fail a time-limited run at its deadline with a
# bare "context deadline exceeded" when a worker is busy minimizing a new
# input (go.dev/issue/75804), and each input here costs a round trip to every
# database, so minimizing takes seconds. A count ends the run without a
# deadline. A target that fails, with or without a crasher, fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
execs=${FUZZ_EXECS:-5000}
for target in $(go test -list '^Fuzz' . | grep '^Fuzz'); do
  start=$(date +%s)
  if ! timeout 600 go test -run '^$' -fuzz "^${target}\$" -fuzztime "${execs}x" -fuzzminimizetime 10s . >/tmp/fuzz.$$.log 2>&1; then
    cat /tmp/fuzz.$$.log; rm -f /tmp/fuzz.$$.log
    echo "fuzz: $target failed" >&2
    exit 1
  fi
  tail -n 2 /tmp/fuzz.$$.log; rm -f /tmp/fuzz.$$.log
  echo "fuzz: $target ran $execs inputs in $(( $(date +%s) - start ))s"
done
