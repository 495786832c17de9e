# Shared helpers for the service scripts in this folder. Sourced, never run on its own.
# Sets: repo (the repository root), run_dir (STINT_RUN_DIR, default $repo/.run: runtime state,
# URLs and secrets, gitignored) and cache_dir (STINT_CACHE_DIR, default ~/.cache/stint: things
# that are slow to build and are kept across runs, e.g. provisioned Samba domains).
# shellcheck disable=SC2034 # used by the scripts that source this file
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run_dir="${STINT_RUN_DIR:-$repo/.run}"
cache_dir="${STINT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stint}"

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A private (0700) folder.
private_dir() { mkdir -p "$1" && chmod 700 "$1"; }

# write_private FILE TEXT: writes TEXT (plus a newline) atomically into FILE with mode 0600.
write_private() {
  local tmp
  tmp="$(mktemp "$1.XXXXXX")"   # mktemp creates it 0600
  printf '%s\n' "$2" >"$tmp"
  mv -f "$tmp" "$1"
}

# A JSON string literal (the values here never hold control characters).
json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "$s"
}

# install_packages PACKAGE...: apt-get installs them (no recommends), as root.
install_packages() {
  [ "$(id -u)" = 0 ] || die "the Debian packages $* are missing; install them as root"
  log "installing Debian packages: $* …"
  local apt=(apt-get -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends install)
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt-get -qq -o DPkg::Lock::Timeout=300 update >&2
  fi
  if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" "$@" >/dev/null 2>&1; then
    # Stale package lists are the usual cause: refresh once and retry, showing the output.
    apt-get -qq -o DPkg::Lock::Timeout=300 update >&2
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" "$@" >&2
  fi
}

# Is some process listening on TCP port $1 (any address)?
port_in_use() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# First free TCP port from $1 upward.
free_port() {
  local port="$1"
  while port_in_use "$port"; do port=$((port + 1)); done
  echo "$port"
}

# The pid in pid file $1 if that process is alive.
live_pid() {
  local pid
  [ -f "$1" ] || return 1
  pid="$(tr -dc 0-9 <"$1")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# wait_for SECONDS COMMAND...: retries COMMAND until it succeeds; fails after SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# take_lock FILE: holds an exclusive lock on FILE (on fd 9) until the script exits, so two
# invocations never start or stop the same service at once. Daemons must be started with `9>&-`
# or they would inherit the lock and keep it forever.
take_lock() {
  exec 9>"$1"
  flock -w 300 9 || die "timed out waiting for the lock $1"
}
