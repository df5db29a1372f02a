#!/usr/bin/env bash
# Mutation testing of the root package and internal/dialect with gremlins
# (github.com/go-gremlins/gremlins v0.6.0, installed when missing), against
# SQLite only: CACHE_TEST_POSTGRES_DSN, CACHE_TEST_MYSQL_DSN and CI are unset
# for the run. Slow
# (each mutant rebuilds and reruns its package's tests), so it is for
# developers, not CI; RELIABILITY.md records its last result.
#
# gremlins gathers coverage by running every package's tests once, then
# mutates the covered code of the files it is not told to skip and runs
# the tests of the mutant's own package: a mutant in the root package
# faces the root package's tests, one in internal/dialect faces
# internal/dialect's tests. A mutant is KILLED when the tests fail, LIVED
# when they pass, TIMED OUT when they outlast the coverage run's time
# multiplied by TIMEOUT_COEFFICIENT.
#
#   WORKERS                parallel mutants (default 1: each test run uses
#                          the CPUs it gets)
#   TIMEOUT_COEFFICIENT    default 2
#   OUTPUT                 JSON report file (default: mutation.json in a
#                          temporary directory, printed at the end)
#   EXCLUDE                a further regexp of files (relative to the module
#                          root) not to mutate, to scope a run, such as
#                          '^(cached|conn|trace)\.go$'
#
# A whole run has a few hundred mutants: expect an hour or more on a 2-core
# machine. EXCLUDE='^(cached|conn|trace)\.go$' WORKERS=2 took 9 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
unset CACHE_TEST_POSTGRES_DSN CACHE_TEST_MYSQL_DSN CI
version=v0.6.0
gremlins=$(go env GOPATH)/bin/gremlins
if ! [ -x "$gremlins" ]; then
  go install "github.com/go-gremlins/gremlins/cmd/gremlins@$version"
fi
output=${OUTPUT:-$(mktemp -d)/mutation.json}
# Only the root package's files and internal/dialect's are mutated.
exclude=(--exclude-files '^(bench|cacheadmin|cachecli|cmd|docs|examples|scripts|internal/cachetest)/')
if [ -n "${EXCLUDE:-}" ]; then
  exclude+=(--exclude-files "$EXCLUDE")
fi
"$gremlins" unleash \
  --workers "${WORKERS:-1}" \
  --timeout-coefficient "${TIMEOUT_COEFFICIENT:-2}" \
  "${exclude[@]}" \
  --output "$output" \
  .
echo "mutation: report in $output"
