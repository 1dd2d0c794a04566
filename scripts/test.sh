#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite: `bash scripts/test.sh`.
# Ends with one plain line "N passed, N failed" taken from jest's JSON results.
set -uo pipefail
cd "$(dirname "$0")/.."

source scripts/ensure-pnpm.sh

# BullMQ tests use a real Redis at 127.0.0.1:6379; start one if none answers.
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.1; done
  else
    echo "Redis is not running and redis-server is not installed (apt-get install -y redis-server)." >&2
  fi
fi

pnpm install --frozen-lockfile >/dev/null || { echo "pnpm install failed" >&2; echo "0 passed, 1 failed"; exit 1; }

results=.jest-results.json
rm -f "$results"
NODE_OPTIONS=--experimental-vm-modules pnpm exec jest --json --outputFile="$results" "$@"
status=$?
if [ -f "$results" ]; then
  node -e '
    const r = require(process.argv[1]);
    const brokenSuites = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests + brokenSuites} failed`);
  ' "$(pwd)/$results"
else
  echo "0 passed, 1 failed"
  [ "$status" -eq 0 ] && status=1
fi
exit "$status"
