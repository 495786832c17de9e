# Sourced by the other scripts (`. scripts/node-env.sh`): puts Node.js >= 22 first on PATH. Where
# the machine's Node is older, Node 24 is installed from the npm registry into .tools/node24 once.
_stint_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_stint_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$_stint_major" -lt 22 ]; then
  _stint_node_dir="$_stint_repo/.tools/node24"
  if [ ! -x "$_stint_node_dir/node_modules/.bin/node" ]; then
    echo "installing Node.js 24 into .tools/node24 (the machine has Node $_stint_major)…" >&2
    mkdir -p "$_stint_node_dir"
    npm install --prefix "$_stint_node_dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error node@24 >&2
  fi
  export PATH="$_stint_node_dir/node_modules/.bin:$PATH"
  _stint_headers="$(dirname "$(dirname "$(find "$_stint_node_dir/node_modules" -path '*/include/node/node.h' -print -quit 2>/dev/null)")" 2>/dev/null)"
  # Native addons, if any, build against this Node's own headers.
  [ -n "$_stint_headers" ] && [ -d "$_stint_headers" ] && export npm_config_nodedir="$(dirname "$_stint_headers")"
fi
unset _stint_major _stint_node_dir _stint_headers
