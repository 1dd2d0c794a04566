#!/usr/bin/env bash
# The PostgreSQL pass: every test that opens a database, run against a real PostgreSQL server with
# pgvector instead of PGlite (each test gets its own database, cloned from a migrated template), plus
# the `*.pg.test.ts` files. `bash scripts/test-postgres.sh [jest args]`; results in .jest-results-postgres.json.
set -uo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL=${QUIRE_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
bash scripts/install-pgvector.sh || exit 3

# Databases left by an earlier run that was killed before its tests closed them.
psql "$ADMIN_URL" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'quire\_test\_%'" | while read -r name; do
  [ -n "$name" ] && psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
done

results=.jest-results-postgres.json
rm -f "$results"
if [ $# -eq 0 ]; then set -- --findRelatedTests packages/db/src/postgres-db.ts; fi
QUIRE_TEST_DATABASE_URL=$ADMIN_URL NODE_OPTIONS=--experimental-vm-modules pnpm exec jest --json --outputFile="$results" "$@"
