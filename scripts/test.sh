#!/usr/bin/env bash
# `npm test`: from a fresh clone, installs what is missing, starts the real servers it needs
# (Redis, PostgreSQL, two Samba AD domain controllers; the SIEM tests start their own rsyslogd),
# then type check, lint, and every tier of tests. Servers are left running for the next run
# (scripts/services.sh stop ends them).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
. scripts/node-env.sh
bash scripts/install-deps.sh --test
bash scripts/services.sh start
echo "== type check"
npx tsc --noEmit -p tsconfig.json
echo "== lint"
npx eslint .
npx depcruise src workers --config .dependency-cruiser.cjs
echo "== tests"
node --test --test-concurrency=1 --test-timeout=180000 --test-force-exit \
  'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts'
