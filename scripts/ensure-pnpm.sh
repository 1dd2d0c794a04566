# Sourced by the start and test scripts: pnpm pinned to the version in package.json.
PNPM_VERSION=12.4.2
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "Installing pnpm@$PNPM_VERSION ..." >&2
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || { echo "could not install pnpm@$PNPM_VERSION with npm" >&2; exit 1; }
fi
