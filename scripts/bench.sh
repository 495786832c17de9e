#!/usr/bin/env bash
# `npm run bench`: starts the real servers and runs every benchmark under bench/, which print
# figures. Not part of `npm test`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
. scripts/node-env.sh
bash scripts/install-deps.sh
bash scripts/services.sh start >/dev/null 2>&1
for bench in bench/*.ts; do
  node "$bench"
done
