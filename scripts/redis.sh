#!/usr/bin/env bash
# Local Redis for BullMQ: loopback only, maxmemory-policy noeviction, AOF persistence, data in the
# run folder. Usage: scripts/redis.sh start|stop|status   (honours STINT_REDIS_PORT, STINT_RUN_DIR)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="$run_dir/redis"
pidfile="$dir/redis.pid"

running_port() { [ -f "$dir/port" ] && pid_alive "$pidfile" && redis-cli -p "$(cat "$dir/port")" ping 2>/dev/null | grep -q PONG && cat "$dir/port"; }

case "${1:-}" in
  start)
    ensure_packages redis-server redis-tools
    mkdir -p "$dir" && chmod 700 "$dir"
    if port="$(running_port)"; then echo "redis://127.0.0.1:$port"; exit 0; fi
    port="${STINT_REDIS_PORT:-$(free_port 6390)}"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --protected-mode yes \
      --dir "$dir" --pidfile "$pidfile" --logfile "$dir/redis.log" \
      --maxmemory-policy noeviction --appendonly yes --appendfsync everysec --save ''
    echo "$port" > "$dir/port"
    wait_for 20 redis-cli -p "$port" ping || { echo "redis did not start; see $dir/redis.log" >&2; exit 1; }
    echo "redis://127.0.0.1:$port" | tee "$dir/url"
    ;;
  stop)
    if pid_alive "$pidfile"; then
      pid="$(cat "$pidfile")"
      redis-cli -p "$(cat "$dir/port")" shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
      wait_for 20 bash -c "! kill -0 $pid 2>/dev/null" || true
    fi
    echo "redis stopped"
    ;;
  status)
    if port="$(running_port)"; then echo "redis running on 127.0.0.1:$port"; else echo "redis not running"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
