#!/usr/bin/env bash
# Makes pgvector available to the local PostgreSQL server, so the tests can run on a real server too
# (scripts/test-postgres.sh). Does nothing when the server already offers the extension. Every failure
# says why on stderr and exits non-zero.
#
# Debian bookworm (this machine's release) packages no pgvector, so: the packaged extension when the
# configured archives have one (PGDG, a newer Debian), else trixie's source package, which builds
# against bookworm's server headers, fetched through a source-only apt list (no binary package of
# the machine changes).
set -uo pipefail

ADMIN_URL=${QUIRE_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SOURCE_VERSION=${PGVECTOR_SOURCE_VERSION:-0.8.0-1}
APT_OPTS=(-o Acquire::Retries=2 -o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20 -o DPkg::Lock::Timeout=60)

fail() { echo "install-pgvector: $*" >&2; exit 1; }
available() { psql "$ADMIN_URL" -tAc "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'" 2>/dev/null | grep -q 1; }

command -v psql >/dev/null 2>&1 || fail "psql is not installed"
psql "$ADMIN_URL" -tAc 'SELECT 1' >/dev/null 2>&1 || fail "no PostgreSQL server answers at $ADMIN_URL"
available && exit 0

[ -f /etc/debian_version ] || fail "pgvector is missing and this is not a Debian system; install pgvector for the server by hand"
[ "$(id -u)" = 0 ] || fail "pgvector is missing; installing it needs root (apt-get): sudo bash $0"
version_num=$(psql "$ADMIN_URL" -tAc 'SHOW server_version_num' 2>/dev/null)
[[ "$version_num" =~ ^[0-9]+$ ]] || fail "could not read the server's version"
major=$(( version_num / 10000 ))
log=$(mktemp /tmp/install-pgvector.XXXXXX.log)
step() { # runs a step with its output in the log; on failure prints the log's tail
  if ! "$@" >>"$log" 2>&1; then
    echo "install-pgvector: failed: $*" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
}

echo "Installing pgvector for PostgreSQL $major (log: $log) ..." >&2
export DEBIAN_FRONTEND=noninteractive
step apt-get "${APT_OPTS[@]}" update
if apt-get "${APT_OPTS[@]}" install -y "postgresql-$major-pgvector" >>"$log" 2>&1; then
  available && { echo "pgvector installed from the postgresql-$major-pgvector package." >&2; exit 0; }
fi

list=/etc/apt/sources.list.d/quire-pgvector-src.list
if [ ! -f "$list" ]; then
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  signed=""
  [ -f "$keyring" ] && signed="[signed-by=$keyring] "
  echo "deb-src ${signed}http://deb.debian.org/debian trixie main" > "$list"
  if ! apt-get "${APT_OPTS[@]}" update >>"$log" 2>&1; then
    rm -f "$list" # a list apt cannot read would break every later apt-get update on this machine
    echo "install-pgvector: could not read Debian trixie's source index" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
fi
step apt-get "${APT_OPTS[@]}" install -y "postgresql-server-dev-$major" make gcc dpkg-dev

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || fail "no temporary folder"
apt-get "${APT_OPTS[@]}" source "pgvector=$SOURCE_VERSION" >>"$log" 2>&1 || step apt-get "${APT_OPTS[@]}" source pgvector
src=$(find "$work" -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
[ -n "$src" ] || fail "the pgvector source package did not unpack (log: $log)"
# OPTFLAGS="" leaves out -march=native, so the build does not depend on this CPU's extensions.
step make -C "$src" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" OPTFLAGS="" -j"$(nproc)"
step make -C "$src" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" install

available || fail "built and installed, but the server does not list the extension (log: $log)"
echo "pgvector installed for PostgreSQL $major." >&2
