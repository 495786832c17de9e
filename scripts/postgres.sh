#!/usr/bin/env bash
# Local PostgreSQL in its own throwaway cluster: loopback only, a free port, SCRAM passwords.
# PostgreSQL refuses to run as root and the repo may sit in a root-only folder, so the cluster
# lives in a folder owned by the postgres user. Writes the URL of role `stint` (which may create
# databases: tests make one per test file) to $STINT_RUN_DIR/postgres/url.
# Usage: scripts/postgres.sh start|stop|status   (honours STINT_PG_PORT, STINT_PG_DIR)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$run_dir/postgres"
cluster="${STINT_PG_DIR:-/tmp/stint-pg-$(printf '%s' "$repo" | sha256sum | cut -c1-12)}"
data="$cluster/data"

pg_bin() {
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$newest" ] && echo "$newest"
}
as_pg() { runuser -u postgres -- "$@"; }
running() { [ -f "$cluster/port" ] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }
ready() { as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$(cat "$cluster/port")"; }

case "${1:-}" in
  start)
    [ -n "$(pg_bin)" ] || ensure_packages postgresql
    bin="$(pg_bin)"
    mkdir -p "$out" && chmod 700 "$out"
    if [ ! -f "$data/PG_VERSION" ]; then
      rm -rf "$cluster" && mkdir -p "$cluster" && chown postgres: "$cluster" && chmod 700 "$cluster"
      as_pg bash -c "umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > '$cluster/superuser.pw'; head -c 24 /dev/urandom | base64 | tr -d '/+=' > '$cluster/stint.pw'"
      as_pg "$bin/initdb" -D "$data" --auth=scram-sha-256 --username=postgres --pwfile="$cluster/superuser.pw" -E UTF8 >/dev/null
      # A throwaway cluster for demo and tests: durability traded for speed.
      cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$cluster'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
      fresh=1
    fi
    if ! running; then
      port="${STINT_PG_PORT:-$(free_port 55432)}"
      echo "$port" > "$cluster/port"
      as_pg "$bin/pg_ctl" -D "$data" -l "$cluster/server.log" -o "-p $port" -w -t 60 start >/dev/null
    fi
    port="$(cat "$cluster/port")"
    wait_for 30 ready || { echo "postgres did not start; see $cluster/server.log" >&2; exit 1; }
    if [ "${fresh:-0}" = 1 ]; then
      as_pg env PGPASSWORD="$(cat "$cluster/superuser.pw")" \
        "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE stint LOGIN CREATEDB PASSWORD '$(cat "$cluster/stint.pw")'" \
        -c "CREATE DATABASE stint OWNER stint" >/dev/null
    fi
    (umask 077; echo "postgres://stint:$(cat "$cluster/stint.pw")@127.0.0.1:$port/stint" > "$out/url")
    echo "postgres ready on 127.0.0.1:$port"
    ;;
  stop)
    bin="$(pg_bin || true)"
    if [ -n "$bin" ] && [ -f "$data/PG_VERSION" ] && running; then
      as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    echo "postgres stopped"
    ;;
  status)
    bin="$(pg_bin)"
    if running; then echo "postgres running on 127.0.0.1:$(cat "$cluster/port")"; else echo "postgres not running"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
