#!/usr/bin/env bash
# Our own Redis for BullMQ (not the system service): loopback only, no password (protected mode
# on), maxmemory-policy noeviction, AOF persistence (everysec), data in $RUN_DIR/redis.
#   scripts/redis.sh start          start (or find running); prints redis://127.0.0.1:PORT
#   scripts/redis.sh stop [--purge] stop; --purge also deletes the data folder
#   scripts/redis.sh status         exit 0 when running, 3 when not
# Port: $STINT_REDIS_PORT, else the last one used if still free, else the first free from 6390.
# Writes the URL to $RUN_DIR/redis/url (removed again by stop).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="$run_dir/redis"
pidfile="$dir/redis.pid"
portfile="$dir/port"
urlfile="$dir/url"

# The pid of our redis-server, if alive.
our_pid() {
  local pid
  pid="$(live_pid "$pidfile")" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ] && echo "$pid"
}
ping_port() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }
# The port of our running, answering Redis.
running_port() {
  local port
  our_pid >/dev/null && [ -f "$portfile" ] || return 1
  port="$(cat "$portfile")"
  ping_port "$port" && echo "$port"
}

start() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    install_packages redis-server redis-tools
  fi
  private_dir "$dir"
  take_lock "$dir/.lock"
  local port
  if ! port="$(running_port)"; then
    if our_pid >/dev/null && [ -f "$portfile" ]; then
      # Alive but not answering yet (e.g. still loading its AOF).
      port="$(cat "$portfile")"
    else
      if [ -n "${STINT_REDIS_PORT:-}" ]; then
        port="$STINT_REDIS_PORT"
        ! port_in_use "$port" || die "STINT_REDIS_PORT=$port is already in use"
      elif [ -f "$portfile" ] && ! port_in_use "$(cat "$portfile")"; then
        port="$(cat "$portfile")"
      else
        port="$(free_port 6390)"
      fi
      echo "$port" >"$portfile"
      # RDB snapshots off (save ''): the AOF is the persistence.
      redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --protected-mode yes \
        --dir "$dir" --pidfile "$pidfile" --logfile "$dir/redis.log" \
        --maxmemory-policy noeviction --appendonly yes --appendfsync everysec --save '' 9>&-
    fi
    if ! wait_for 20 ping_port "$port"; then
      tail -n 20 "$dir/redis.log" >&2 || true
      die "redis did not answer on 127.0.0.1:$port within 20 s (log: $dir/redis.log)"
    fi
  fi
  echo "redis://127.0.0.1:$port" >"$urlfile"
  echo "redis://127.0.0.1:$port"
}

stop() {
  local pid purge=0
  [ "${1:-}" = --purge ] && purge=1
  [ -d "$dir" ] || { echo "redis stopped"; return 0; }
  take_lock "$dir/.lock"
  if pid="$(our_pid)"; then
    redis-cli -h 127.0.0.1 -p "$(cat "$portfile")" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    if ! wait_for 20 eval "! kill -0 $pid"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$urlfile"
  if [ "$purge" = 1 ]; then
    rm -rf "$dir"
    echo "redis stopped; data deleted"
  else
    echo "redis stopped"
  fi
}

status() {
  local port
  if port="$(running_port)"; then
    echo "redis running: redis://127.0.0.1:$port"
  else
    echo "redis not running"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  status) status ;;
  *) echo "usage: $0 start|stop [--purge]|status" >&2; exit 2 ;;
esac
