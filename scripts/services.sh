#!/usr/bin/env bash
# Starts or stops every local server the tests and the demo use: Redis, PostgreSQL and the two
# Samba AD domains. Writes $STINT_RUN_DIR/services.json (mode 0600) naming what runs where.
# Usage: scripts/services.sh start|stop|status
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
. "$here/lib.sh"

case "${1:-}" in
  start)
    redis_url="$(bash "$here/redis.sh" start)"
    bash "$here/postgres.sh" start >&2
    bash "$here/samba.sh" start acme globex >&2
    (
      umask 077
      printf '{"redisUrl": "%s", "postgresUrl": "%s", "sambaDomainsFile": "%s"}\n' \
        "$redis_url" "$(cat "$run_dir/postgres/url")" "$run_dir/samba/domains.json" > "$run_dir/services.json"
    )
    echo "services ready: redis $redis_url, postgres, samba acme + globex ($run_dir/services.json)"
    ;;
  stop)
    bash "$here/samba.sh" stop acme globex
    bash "$here/postgres.sh" stop
    bash "$here/redis.sh" stop
    rm -f "$run_dir/services.json"
    ;;
  status)
    rc=0
    bash "$here/redis.sh" status || rc=1
    bash "$here/postgres.sh" status || rc=1
    bash "$here/samba.sh" status || rc=1
    exit $rc
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
