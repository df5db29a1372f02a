#!/usr/bin/env bash
# Runs each fuzz target of the root package for a while (default 20s each).
# A failing target that wrote a crasher into testdata/fuzz fails the run. Go
# 1.26's fuzz coordinator can also fail a target at the -fuzztime boundary
# with a bare "context deadline exceeded" and no crasher (go.dev/issue/75804,
# fixed in Go 1.27): such a run is retried once.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20s}
for target in $(go test -list '^Fuzz' . | grep '^Fuzz'); do
  for attempt in 1 2; do
    before=$(ls "testdata/fuzz/$target" 2>/dev/null | sort || true)
    log=$(mktemp)
    if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" . >"$log" 2>&1; then
      tail -n 3 "$log"; rm -f "$log"; break
    fi
    cat "$log"
    after=$(ls "testdata/fuzz/$target" 2>/dev/null | sort || true)
    if [ "$before" != "$after" ] || ! grep -q 'context deadline exceeded' "$log" || [ "$attempt" = 2 ]; then
      rm -f "$log"
      echo "fuzz: $target failed" >&2
      exit 1
    fi
    rm -f "$log"
    echo "fuzz: $target hit the fuzz coordinator's deadline race without a crasher; retrying once" >&2
  done
done
