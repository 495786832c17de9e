#!/usr/bin/env bash
# Starts, stops or checks every local server the tests and the demo use: Redis, PostgreSQL and
# the Samba AD domains acme and globex (see redis.sh, postgres.sh, samba.sh).
#   scripts/services.sh start|stop|status [--only redis,postgres,samba]
# Afterwards writes $RUN_DIR/services.json (mode 0600) with whatever is running:
#   {"redisUrl": "redis://127.0.0.1:PORT", "postgresUrl": "postgres://stint:…@127.0.0.1:PORT/stint",
#    "sambaDomainsFile": "/abs/.run/samba/domains.json"}
# (keys of stopped servers are left out; the file is removed when nothing runs).
# status exits 0 when all the chosen servers run, 3 when not.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib.sh"

action="${1:-}"
[ $# -eq 0 ] || shift
only="redis,postgres,samba"
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="${2:?--only needs a list, e.g. redis,postgres}"; shift 2 ;;
    --only=*) only="${1#--only=}"; shift ;;
    *) die "unknown argument $1" ;;
  esac
done
chosen=()
IFS=, read -r -a wanted <<<"$only"
for s in "${wanted[@]}"; do
  case "$s" in redis | postgres | samba) chosen+=("$s") ;; *) die "unknown service '$s' (redis, postgres, samba)" ;; esac
done
want() { [[ ",$only," == *",$1,"* ]]; }

# services.json from what actually runs now; prints a summary.
write_services_file() {
  local json=() redis_url="" pg_url="" domains_file="$run_dir/samba/domains.json"
  if bash "$here/redis.sh" status >/dev/null 2>&1 && [ -f "$run_dir/redis/url" ]; then
    redis_url="$(cat "$run_dir/redis/url")"
    json+=("\"redisUrl\": $(json_str "$redis_url")")
  fi
  if bash "$here/postgres.sh" status >/dev/null 2>&1 && [ -f "$run_dir/postgres/url" ]; then
    pg_url="$(cat "$run_dir/postgres/url")"
    json+=("\"postgresUrl\": $(json_str "$pg_url")")
  fi
  bash "$here/samba.sh" status >/dev/null 2>&1 || true # refreshes domains.json
  local running_domains=""
  if [ -f "$domains_file" ]; then
    running_domains="$(grep -o '"name": "[a-z]*"' "$domains_file" | cut -d'"' -f4 | paste -sd' ' || true)"
  fi
  if [ -n "$running_domains" ]; then
    json+=("\"sambaDomainsFile\": $(json_str "$domains_file")")
  fi
  if [ "${#json[@]}" -eq 0 ]; then
    rm -f "$run_dir/services.json"
    echo "nothing running"
    return 0
  fi
  local IFS=,
  write_private "$run_dir/services.json" "{${json[*]}}"
  echo "redis:    ${redis_url:-not running}"
  if [ -n "$pg_url" ]; then
    local pg_addr="${pg_url##*@}"
    echo "postgres: ${pg_addr%%/*} (URL with password in $run_dir/postgres/url)"
  else
    echo "postgres: not running"
  fi
  echo "samba:    ${running_domains:-not running}"
  echo "services file: $run_dir/services.json"
}

case "$action" in
  start | stop)
    # Each in turn (a failure does not stop the others); the file then shows what runs.
    mkdir -p "$run_dir"
    rc=0
    order=(redis postgres samba)
    [ "$action" = start ] || order=(samba postgres redis)
    for s in "${order[@]}"; do
      if want "$s"; then bash "$here/$s.sh" "$action" >/dev/null || { log "$s: $action failed"; rc=1; }; fi
    done
    write_services_file
    exit "$rc"
    ;;
  status)
    rc=0
    for s in "${chosen[@]}"; do bash "$here/$s.sh" status || rc=3; done
    [ ! -d "$run_dir" ] || write_services_file >/dev/null
    exit "$rc"
    ;;
  *) echo "usage: $0 start|stop|status [--only redis,postgres,samba]" >&2; exit 2 ;;
esac
