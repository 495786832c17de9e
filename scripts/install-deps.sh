#!/usr/bin/env bash
# Installs the npm dependencies with `npm ci` (on Node >= 22) when node_modules is missing or
# older than package-lock.json. Used by `npm test`, the demo and the bench.
# With --test (as `npm test` runs it), also the Debian packages only the tests use: rsyslog and its
# TLS driver rsyslog-gnutls (the tests start a private rsyslogd as a SIEM; the system's rsyslog
# service is never started or used), openssl for the tests' throwaway CA, and chromium for the web
# UI's end-to-end tests (playwright-core drives /usr/bin/chromium; browsers are never downloaded).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/lib.sh"
. "$repo/scripts/node-env.sh"
if [ "${1:-}" = --test ]; then
  missing=()
  for package in rsyslog rsyslog-gnutls openssl chromium; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
  done
  # Debian's postinst may start the system's rsyslog service; the tests neither use nor touch it.
  if [ "${#missing[@]}" -gt 0 ]; then install_packages "${missing[@]}"; fi
fi
stamp="$repo/node_modules/.stint-lock.sha256"
want="$( (cat "$repo/package-lock.json"; node --version) | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing npm dependencies (npm ci)…" >&2
  (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi
