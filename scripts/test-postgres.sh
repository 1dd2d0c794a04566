#!/usr/bin/env bash
# The PostgreSQL pass: every test that opens a database, run against a real PostgreSQL server with
# pgvector instead of PGlite (each test gets its own database, cloned from a migrated template), plus
# the `*.pg.test.ts` files. `bash scripts/test-postgres.sh [jest args]`; results in .jest-results-postgres.json.
set -uo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL=${QUIRE_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
# This machine kind runs PostgreSQL from Debian's packages; start the cluster if it is down (as the test
# script starts Redis).
if ! psql "$ADMIN_URL" -tAc 'SELECT 1' >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true; done
  for _ in $(seq 1 50); do psql "$ADMIN_URL" -tAc 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
fi
bash scripts/install-pgvector.sh || exit 3

# Databases left by an earlier run that was killed before its tests closed them. Their names carry the
# creating process's id (quire_test_<pid>_..., quire_scratch_<pid>_...): those of a live process belong
# to a run still going, and stay.
psql "$ADMIN_URL" -tAc "SELECT datname FROM pg_database WHERE datname ~ '^quire_(test|scratch)_[0-9]+_'" | while read -r name; do
  pid=$(echo "$name" | cut -d_ -f3)
  # ps, not kill -0: kill -0 fails for a live process of another user too.
  [ -n "$name" ] && ! ps -p "$pid" >/dev/null 2>&1 && psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
done

results=.jest-results-postgres.json
rm -f "$results"
if [ $# -eq 0 ]; then set -- --findRelatedTests packages/db/src/postgres-db.ts; fi
QUIRE_TEST_DATABASE_URL=$ADMIN_URL NODE_OPTIONS=--experimental-vm-modules pnpm exec jest --json --outputFile="$results" "$@"
