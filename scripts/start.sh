#!/usr/bin/env bash
# Installs and starts Quire with its embedded defaults: `bash scripts/start.sh`.
# PGlite in $QUIRE_DATA_DIR (default ./.quire), jobs in process, the gateway on $QUIRE_PORT (default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-pnpm.sh
pnpm install --frozen-lockfile
exec pnpm start
