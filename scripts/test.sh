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

# The linter (eslint.config.js: unawaited promises, stray variables) on a whole run; what it finds
# counts as one failure in the line below, and its report stays on stderr.
if [ $# -eq 0 ] && [ "${QUIRE_LINT:-on}" != off ]; then
  pnpm exec eslint . >&2 || export QUIRE_LINT_FAILED=1
fi

rm -f .jest-results.json .jest-results-postgres.json
NODE_OPTIONS=--experimental-vm-modules pnpm exec jest --json --outputFile=.jest-results.json "$@"
status=$?

# The whole suite ran on PGlite. Every test that opens a database runs again on a PostgreSQL server with
# pgvector (the production shape), which scripts/install-pgvector.sh builds when the server lacks it.
# A run limited by arguments, or QUIRE_TEST_POSTGRES=off, skips this pass.
if [ $# -eq 0 ] && [ "${QUIRE_TEST_POSTGRES:-on}" != off ]; then
  bash scripts/test-postgres.sh
  pg_status=$?
  if [ "$pg_status" -eq 3 ]; then
    echo "The PostgreSQL pass did not run: no server with pgvector (the reason is above). Its tests are not counted." >&2
  elif [ "$pg_status" -ne 0 ]; then
    status=$pg_status
    # A pass that broke before writing results counts as one failure, not as nothing.
    [ -f .jest-results-postgres.json ] || export QUIRE_PG_PASS_BROKEN=1
  fi
fi

node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, files = 0;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file)) continue;
    files++;
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    const brokenSuites = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
    passed += r.numPassedTests;
    failed += r.numFailedTests + brokenSuites;
  }
  if (files === 0) failed = 1;
  if (process.env.QUIRE_PG_PASS_BROKEN) failed++;
  if (process.env.QUIRE_LINT_FAILED) failed++;
  console.log(`${passed} passed, ${failed} failed`);
' "$(pwd)/.jest-results.json" "$(pwd)/.jest-results-postgres.json"
[ -f .jest-results.json ] || { [ "$status" -eq 0 ] && status=1; }
[ -z "${QUIRE_LINT_FAILED:-}" ] || { [ "$status" -eq 0 ] && status=1; }
exit "$status"
