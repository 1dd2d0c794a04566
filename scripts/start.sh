#!/usr/bin/env bash
# Installs and starts Quire with its embedded defaults: `bash scripts/start.sh`.
# PGlite in $QUIRE_DATA_DIR (default ./.quire), jobs in process, the gateway on $QUIRE_PORT (default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-pnpm.sh
pnpm install --frozen-lockfile
# What `pnpm start` runs, but as this process: a SIGTERM to it (kill %1 of `bash scripts/start.sh &`)
# reaches Quire itself. Through pnpm it stopped pnpm only, and Quire kept running, data folder locked.
exec node --import tsx scripts/start-embedded.ts
