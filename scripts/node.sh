#!/usr/bin/env bash
# Runs node (>= 22, fetched by node-env.sh where the machine's is older) with the given arguments;
# the npm scripts go through it so they work on any machine.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
exec node "$@"
