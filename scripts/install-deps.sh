#!/usr/bin/env bash
# Installs the npm dependencies with `npm ci` (on Node >= 22) when node_modules is missing or
# older than package-lock.json, and Debian's Chromium for the web UI's end-to-end tests
# (playwright-core drives /usr/bin/chromium; browsers are never downloaded). Used by `npm test`,
# the demo and the bench.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/lib.sh"
. "$repo/scripts/node-env.sh"
[ -x /usr/bin/chromium ] || install_packages chromium
stamp="$repo/node_modules/.stint-lock.sha256"
want="$( (cat "$repo/package-lock.json"; node --version) | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing npm dependencies (npm ci)…" >&2
  (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi
