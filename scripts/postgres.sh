#!/usr/bin/env bash
# shellcheck disable=SC2016 # the `bash -c` snippets below expand their own "$1"
# Our own throwaway PostgreSQL cluster for the tests: loopback only, SCRAM passwords, and a role
# `stint` (owner of database `stint`, allowed CREATEDB: the tests make one database per file).
#   scripts/postgres.sh start          start (or find running); prints "postgres ready on 127.0.0.1:PORT"
#   scripts/postgres.sh stop [--purge] stop (pg_ctl -m fast); --purge also deletes the cluster
#   scripts/postgres.sh status         exit 0 when running, 3 when not
# PostgreSQL refuses to run as root and the repo may sit in a root-only (0700) folder, so the
# cluster lives outside it, in a 0700 folder owned by the postgres user:
#   STINT_PG_DIR, default /tmp/stint-pg-<12 hex of sha256(absolute run dir)>, so every checkout
#   (or worktree) sharing one STINT_RUN_DIR finds the same cluster
# holding data/, server.log, port, and the passwords (superuser.pw, stint.pw, .pgpass; 0600),
# which are reused on every start. Port: $STINT_PG_PORT, else the last one used if still free,
# else the first free from 55432. Writes postgres://stint:PASSWORD@127.0.0.1:PORT/stint to
# $RUN_DIR/postgres/url (mode 0600; removed again by stop). No superuser URL is written.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$run_dir/postgres"
cluster="${STINT_PG_DIR:-/tmp/stint-pg-$(printf '%s' "$(realpath -m "$run_dir")" | sha256sum | cut -c1-12)}"
case "$cluster" in /*) ;; *) cluster="$PWD/$cluster" ;; esac
data="$cluster/data"

# Runs a command as the postgres user, from / (the caller's folder may be closed to it).
as_pg() { (cd / && runuser -u postgres -- "$@"); }

# The bin folder of the newest installed PostgreSQL, or of major $1 if given.
pg_bin() {
  local dirs=() d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/postgres" ] && dirs+=("$d"); done
  [ "${#dirs[@]}" -gt 0 ] || return 1
  if [ -n "${1:-}" ]; then
    [ -x "/usr/lib/postgresql/$1/bin/postgres" ] && echo "/usr/lib/postgresql/$1/bin"
  else
    printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1
  fi
}

# Sets $bin to the binaries matching the cluster (or the newest, for a new cluster).
find_bin() {
  if [ -f "$data/PG_VERSION" ]; then
    bin="$(pg_bin "$(cat "$data/PG_VERSION")")" ||
      die "the cluster in $cluster is PostgreSQL $(cat "$data/PG_VERSION"), which is not installed; delete it with: $0 stop --purge"
  else
    bin="$(pg_bin)" || { install_packages postgresql; bin="$(pg_bin)"; }
  fi
}

# The cluster folder must be ours: a real folder owned by postgres, mode 0700.
check_cluster_dir() {
  if [ -L "$cluster" ] || { [ -e "$cluster" ] && [ "$(stat -c %U "$cluster")" != postgres ]; }; then
    die "$cluster exists but is not a folder owned by postgres; remove it or set STINT_PG_DIR"
  fi
}

running() { [ -f "$data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }
# The port of the running server (line 4 of postmaster.pid).
running_port() { sed -n 4p "$data/postmaster.pid"; }

init_cluster() {
  rm -rf "$cluster"
  mkdir -p "$cluster"
  chown postgres: "$cluster"
  chmod 700 "$cluster"
  as_pg bash -c '
    umask 077
    cd "$1"
    head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9 >superuser.pw
    head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9 >stint.pw
    printf "*:*:*:postgres:%s\n" "$(cat superuser.pw)" >.pgpass
  ' _ "$cluster"
  as_pg "$bin/initdb" -D "$data" --auth=scram-sha-256 --username=postgres \
    --pwfile="$cluster/superuser.pw" --encoding=UTF8 --locale=C.UTF-8 >"$cluster/initdb.log" 2>&1 ||
    { cat "$cluster/initdb.log" >&2; die "initdb failed"; }
}

start() {
  check_cluster_dir
  find_bin
  private_dir "$out"
  take_lock "$out/.lock"
  [ -f "$data/PG_VERSION" ] || init_cluster
  local port
  if running; then
    port="$(running_port)"
  else
    if [ -n "${STINT_PG_PORT:-}" ]; then
      port="$STINT_PG_PORT"
      ! port_in_use "$port" || die "STINT_PG_PORT=$port is already in use"
    elif [ -f "$cluster/port" ] && ! port_in_use "$(cat "$cluster/port")"; then
      port="$(cat "$cluster/port")"
    else
      port="$(free_port 55432)"
    fi
    echo "$port" >"$cluster/port"
    grep -qxF "include = 'stint.conf'" "$data/postgresql.conf" ||
      as_pg bash -c 'echo "include = '\''stint.conf'\''" >>"$1/postgresql.conf"' _ "$data"
    # Written on every start and included last from postgresql.conf, so these settings win.
    # fsync/full_page_writes/synchronous_commit off: a throwaway test cluster may lose data in
    # a machine crash; that trade buys speed.
    as_pg tee "$data/stint.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$cluster'
fsync = off
full_page_writes = off
synchronous_commit = off
max_connections = 200
CONF
    as_pg "$bin/pg_ctl" -D "$data" -l "$cluster/server.log" -w -t 60 start >/dev/null 9>&- ||
      { tail -n 20 "$cluster/server.log" >&2; die "postgres did not start (log: $cluster/server.log)"; }
    [ "$(running_port)" = "$port" ] || die "postgres came up on port $(running_port), not $port (see $data/postgresql.conf)"
  fi
  wait_for 30 as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" ||
    die "postgres does not answer on 127.0.0.1:$port (log: $cluster/server.log)"
  [ -f "$cluster/.pgpass" ] || as_pg bash -c 'umask 077; printf "*:*:*:postgres:%s\n" "$(cat "$1/superuser.pw")" >"$1/.pgpass"' _ "$cluster"
  # Role and database, idempotently; the SQL (and so the password) goes through stdin, not argv.
  as_pg env PGPASSFILE="$cluster/.pgpass" "$bin/psql" -X -q -h "$cluster" -p "$port" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT 'CREATE ROLE stint' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'stint')\gexec
ALTER ROLE stint LOGIN CREATEDB PASSWORD '$(cat "$cluster/stint.pw")';
SELECT 'CREATE DATABASE stint OWNER stint' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'stint')\gexec
SQL
  write_private "$out/url" "postgres://stint:$(cat "$cluster/stint.pw")@127.0.0.1:$port/stint"
  echo "postgres ready on 127.0.0.1:$port"
}

stop() {
  local purge=0
  [ "${1:-}" = --purge ] && purge=1
  if [ -d "$out" ]; then take_lock "$out/.lock"; fi
  if [ -f "$data/PG_VERSION" ]; then
    find_bin
    if running; then as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null; fi
  fi
  rm -f "$out/url"
  if [ "$purge" = 1 ]; then
    check_cluster_dir
    rm -rf "$cluster"
    echo "postgres stopped; cluster deleted"
  else
    echo "postgres stopped"
  fi
}

status() {
  if [ -f "$data/PG_VERSION" ] && find_bin && running; then
    echo "postgres running on 127.0.0.1:$(running_port) (cluster $cluster)"
  else
    echo "postgres not running"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  status) status ;;
  *) echo "usage: $0 start|stop [--purge]|status" >&2; exit 2 ;;
esac
