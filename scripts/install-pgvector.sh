#!/usr/bin/env bash
# Makes pgvector available to the local PostgreSQL server, so the tests can run on a real server too
# (scripts/test-postgres.sh). Does nothing when the server already offers the extension.
#
# Debian bookworm (this machine's release) packages no pgvector, but trixie's source package builds
# against bookworm's server headers: a source-only apt list, so no binary package of the machine changes.
set -euo pipefail

ADMIN_URL=${QUIRE_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SOURCE_VERSION=${PGVECTOR_SOURCE_VERSION:-0.8.0-1}

available() { psql "$ADMIN_URL" -tAc "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'" 2>/dev/null | grep -q 1; }

command -v psql >/dev/null 2>&1 || { echo "install-pgvector: psql is not installed" >&2; exit 1; }
psql "$ADMIN_URL" -tAc 'SELECT 1' >/dev/null 2>&1 || { echo "install-pgvector: no PostgreSQL server answers at $ADMIN_URL" >&2; exit 1; }
available && exit 0

[ "$(id -u)" = 0 ] || { echo "install-pgvector: building pgvector needs root (apt-get); run: sudo bash $0" >&2; exit 1; }
major=$(( $(psql "$ADMIN_URL" -tAc 'SHOW server_version_num') / 10000 ))
echo "Building pgvector $SOURCE_VERSION for PostgreSQL $major from Debian's source package ..." >&2

list=/etc/apt/sources.list.d/quire-pgvector-src.list
[ -f "$list" ] || echo "deb-src http://deb.debian.org/debian trixie main" > "$list"
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-$major" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && (apt-get source -qq "pgvector=$SOURCE_VERSION" || apt-get source -qq pgvector)) >/dev/null 2>&1 \
  || { echo "install-pgvector: could not fetch pgvector's source package" >&2; exit 1; }
# OPTFLAGS="" leaves out -march=native, so the build does not depend on this CPU's extensions.
make -s -C "$work"/pgvector-*/ PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" OPTFLAGS="" -j"$(nproc)" >/dev/null 2>&1
make -s -C "$work"/pgvector-*/ PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" install >/dev/null 2>&1

available || { echo "install-pgvector: built, but the server does not list the extension" >&2; exit 1; }
echo "pgvector installed for PostgreSQL $major." >&2
