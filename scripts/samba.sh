#!/usr/bin/env bash
# Real Samba AD domain controllers for the demo and the tests: independent throwaway domains,
# each on its own loopback address, with its own realm, Administrator password and CA.
#   acme    ACME.TEST    NetBIOS ACME    127.0.0.2  DC=acme,DC=test    dc1.acme.test
#   globex  GLOBEX.TEST  NetBIOS GLOBEX  127.0.0.3  DC=globex,DC=test  dc1.globex.test
# Usage (DOMAIN... defaults to both):
#   scripts/samba.sh start [--fresh] [DOMAIN...]  start; --fresh first discards the domain's state
#   scripts/samba.sh stop [--purge] [DOMAIN...]   stop; --purge also deletes the working copy
#   scripts/samba.sh reset [DOMAIN...]            stop, restore the pristine copy, start (~3 s)
#   scripts/samba.sh status [DOMAIN...]           exit 0 when all are running, 3 when not
# A domain is provisioned once (5-10 s of CPU) into $CACHE_DIR/samba/<name>, a stopped pristine
# copy that is never run; it is copied (cp -a) to $RUN_DIR/samba/<name> and run from there, so
# later starts take seconds and keep the domain's state until reset.
# Only LDAP (389 + StartTLS, 636 LDAPS, 3268/3269 GC) and the KDC run, bound to the domain's
# address only. TLS uses a per-domain CA (<copy>/tls/ca.pem) and a server certificate with SANs
# for the address and the FQDN, so a client verifies it with that CA alone.
# Writes $RUN_DIR/samba/domains.json (mode 0600) describing every running domain:
#   {"acme": {"name","realm","host","ldapsUrl","baseDn","bindDn","bindPassword","caFile","fqdn"}, ...}
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
samba_run="$run_dir/samba"
samba_cache="$cache_dir/samba"
all_domains=(acme globex)
# Stored in each provisioned copy; change it whenever the provisioning below changes, and the
# cached domains are provisioned again, and working copies are replaced when next started.
recipe="stint-samba recipe 1: ldap+kdc, own CA (EC P-256), no-expiry admin, relaxed policy"

# domain_info NAME: sets realm, netbios, ip, fqdn, base_dn.
domain_info() {
  case "$1" in
    acme) realm=ACME.TEST netbios=ACME ip=127.0.0.2 ;;
    globex) realm=GLOBEX.TEST netbios=GLOBEX ip=127.0.0.3 ;;
    *) die "unknown domain '$1' (known: ${all_domains[*]})" ;;
  esac
  local lower="${realm,,}"
  fqdn="dc1.$lower"
  base_dn="DC=${lower//./,DC=}"
}

need_samba() {
  if ! command -v samba-tool >/dev/null || ! command -v samba >/dev/null ||
    [ ! -d /usr/share/samba/setup ] || ! command -v openssl >/dev/null; then
    # samba-ad-provision holds /usr/share/samba/setup, which provisioning needs; with
    # --no-install-recommends it must be named.
    install_packages samba-ad-dc samba winbind ldb-tools samba-ad-provision openssl
  fi
}

# make_tls DIR IP FQDN: a CA (10 years) and a server certificate signed by it.
make_tls() {
  local dir="$1" ip="$2" fqdn="$3"
  (
    umask 077
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -sha256 \
      -subj "/O=Stint test/CN=Stint test CA for $fqdn" -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$fqdn" \
      -keyout server.key -out server.csr
    printf '%s\n' "subjectAltName=IP:$ip,DNS:$fqdn" "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
      "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
      -days 3650 -sha256 -extfile server.ext -out server.pem
    rm -f server.csr server.ext
    chmod 644 ca.pem server.pem # keys stay 0600 (Samba requires it of the key file)
  )
}

cache_ok() { [ "$(cat "$samba_cache/$1/.provisioned" 2>/dev/null)" = "$recipe" ]; }

# provision NAME: into the cache; output goes to <cache>/<name>.provision.log.
provision() {
  local name="$1" realm netbios ip fqdn base_dn
  domain_info "$name"
  local dir="$samba_cache/$name"
  rm -rf "$dir"
  private_dir "$dir"
  mkdir -p "$dir/run" "$dir/cache" "$dir/log" "$dir/tls"
  chmod 700 "$dir/tls"
  write_private "$dir/admin.pw" "Aa1!$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
  make_tls "$dir/tls" "$ip" "$fqdn"
  # Every folder Samba would use goes into the domain's own folder (targetdir sets private, lock,
  # state, cache and binddns dirs; the options below the rest), so nothing lands in system folders.
  samba-tool domain provision --realm="$realm" --domain="$netbios" --server-role=dc \
    --dns-backend=NONE --use-rfc2307 --host-name=dc1 --host-ip="$ip" --targetdir="$dir" \
    --adminpass="$(cat "$dir/admin.pw")" \
    --option="interfaces=$ip/8" --option="bind interfaces only=yes" \
    --option="server services=ldap kdc" \
    --option="pid directory=$dir/run" \
    --option="ncalrpc dir=$dir/run/ncalrpc" \
    --option="winbindd socket directory=$dir/run/winbindd" \
    --option="ntp signd socket directory=$dir/run/ntp_signd" \
    --option="log file=$dir/log/samba.log" \
    --option="tls enabled=yes" \
    --option="tls keyfile=$dir/tls/server.key" \
    --option="tls certfile=$dir/tls/server.pem" \
    --option="tls cafile=$dir/tls/ca.pem"
  # A reused throwaway domain: the Administrator password never expires (default: 42 days) and
  # test users may have any password, changed any time.
  samba-tool user setexpiry Administrator --noexpiry -s "$dir/etc/smb.conf"
  samba-tool domain passwordsettings set --complexity=off --history-length=0 \
    --min-pwd-age=0 --max-pwd-age=0 -s "$dir/etc/smb.conf"
  echo "$dir" >"$dir/.origin"
  echo "$recipe" >"$dir/.provisioned"
}

# ensure_provisioned NAME...: provisions (in parallel) those whose cached copy is missing or old.
ensure_provisioned() {
  local todo=() name pids=() i failed=0
  for name in "$@"; do cache_ok "$name" || todo+=("$name"); done
  [ "${#todo[@]}" -gt 0 ] || return 0
  need_samba
  private_dir "$samba_cache"
  exec 8>"$samba_cache/.lock"
  flock -w 600 8 || die "timed out waiting for $samba_cache/.lock"
  todo=()
  for name in "$@"; do cache_ok "$name" || todo+=("$name"); done # someone else may have done it
  [ "${#todo[@]}" -gt 0 ] || { exec 8>&-; return 0; }
  log "provisioning ${todo[*]} into $samba_cache (once; later starts reuse it) …"
  for name in "${todo[@]}"; do
    (provision "$name") >"$samba_cache/$name.provision.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!todo[@]}"; do
    if ! wait "${pids[$i]}"; then
      log "provisioning ${todo[$i]} failed; see $samba_cache/${todo[$i]}.provision.log:"
      tail -n 15 "$samba_cache/${todo[$i]}.provision.log" >&2 || true
      rm -rf "${samba_cache:?}/${todo[$i]}"
      failed=1
    fi
  done
  exec 8>&-
  [ "$failed" = 0 ] || exit 1
}

# restore NAME: a fresh working copy from the pristine cache. smb.conf is the only file that
# embeds the copy's absolute path (the databases do not), so it is rewritten.
restore() {
  local name="$1" from="$samba_cache/$1" to="$samba_run/$1" origin conf
  rm -rf "$to"
  private_dir "$samba_run"
  cp -a "$from" "$to"
  origin="$(cat "$from/.origin")"
  conf="$(cat "$to/etc/smb.conf")"
  printf '%s\n' "${conf//"$origin"/"$to"}" >"$to/etc/smb.conf"
  echo "$to" >"$to/.origin"
}

samba_exe="$(command -v samba 2>/dev/null || echo /usr/sbin/samba)"

# The root samba process of the copy in $samba_run/NAME, if alive.
root_pid() {
  local pid
  pid="$(live_pid "$samba_run/$1/run/samba.pid")" || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$samba_exe" ] && echo "$pid"
}

# Every samba process of the copy in folder $1: its cwd is there (we start samba from it) or
# it holds a file there (a process started some other way).
samba_pids() {
  local pid
  for pid in $(pgrep -f '^samba' || true); do
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$samba_exe" ] || continue
    case "$(readlink "/proc/$pid/cwd" 2>/dev/null)/" in "$1"/*) echo "$pid"; continue ;; esac
    [[ "$(ls -l "/proc/$pid/fd" 2>/dev/null)" != *" -> $1/"* ]] || echo "$pid"
  done
}
none_left() { [ -z "$(samba_pids "$1")" ]; }
port_closed() { [ -z "$(ss -Hltn "src $1 and sport = :636")" ]; }

# Does LDAPS on the domain's address answer with a certificate that its CA verifies for the IP?
ldaps_ok() {
  local realm netbios ip fqdn base_dn
  domain_info "$1"
  timeout 5 openssl s_client -connect "$ip:636" -CAfile "$samba_run/$1/tls/ca.pem" \
    -verify_return_error -verify_ip "$ip" </dev/null >/dev/null 2>&1
}

is_running() { root_pid "$1" >/dev/null && ldaps_ok "$1"; }

start_one() {
  local name="$1" fresh="$2" realm netbios ip fqdn base_dn t0="$EPOCHREALTIME" dir="$samba_run/$1"
  domain_info "$name"
  if [ "$fresh" = 0 ] && root_pid "$name" >/dev/null; then
    wait_for 60 ldaps_ok "$name" || die "$name: samba runs but LDAPS on $ip:636 does not answer (log: $dir/log/samba.log); try: $0 reset $name"
    log "$name: already running"
    return 0
  fi
  stop_one "$name"
  if ! port_closed "$ip"; then
    die "$ip:636 is taken by another process (another checkout's domain? stop it with that checkout's scripts/samba.sh stop)"
  fi
  # A working copy made by an older recipe is replaced too (its state is lost, but it would
  # not match what these scripts promise).
  if [ "$fresh" = 1 ] || [ "$(cat "$dir/.provisioned" 2>/dev/null)" != "$recipe" ]; then restore "$name"; fi
  # Started from its own folder (so its processes can be found by their cwd), closing our locks.
  if ! (cd "$dir" && samba -D -s "$dir/etc/smb.conf" </dev/null >>"$dir/log/samba.out" 2>&1 8>&- 9>&-); then
    tail -n 20 "$dir/log/samba.out" >&2 || true
    die "$name: samba failed to start"
  fi
  if ! wait_for 60 ldaps_ok "$name"; then
    tail -n 20 "$dir/log/samba.log" >&2 || true
    die "$name: LDAPS on $ip:636 did not answer within 60 s (log: $dir/log/samba.log)"
  fi
  log "$name: started in $(elapsed "$t0") s"
}

stop_one() {
  local name="$1" realm netbios ip fqdn base_dn dir="$samba_run/$1" pid pgid pids killed=0
  domain_info "$name"
  [ -d "$dir" ] || return 0
  if pid="$(root_pid "$name")"; then
    # samba -D is a session and process-group leader; its workers share its process group.
    pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"
    if [ "$pgid" = "$pid" ]; then kill -TERM -- "-$pgid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
    killed=1
  fi
  # Wait for every process of this copy (also any left without a pid file) to end.
  pids="$(samba_pids "$dir")"
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    [ "$killed" = 1 ] || kill -TERM $pids 2>/dev/null || true
    killed=1
    if ! wait_for 15 none_left "$dir"; then
      pids="$(samba_pids "$dir")"
      # shellcheck disable=SC2086
      [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$dir/run/samba.pid"
  if [ "$killed" = 1 ]; then
    wait_for 10 port_closed "$ip" || log "$name: $ip:636 still open"
  fi
}

write_domains_file() {
  local name realm netbios ip fqdn base_dn sep="" json="{"
  for name in "${all_domains[@]}"; do
    is_running "$name" || continue
    domain_info "$name"
    json+="$sep
  $(json_str "$name"): {\"name\": $(json_str "$name"), \"realm\": $(json_str "$realm"), \"host\": $(json_str "$ip"), \
\"ldapsUrl\": $(json_str "ldaps://$ip:636"), \"baseDn\": $(json_str "$base_dn"), \
\"bindDn\": $(json_str "CN=Administrator,CN=Users,$base_dn"), \
\"bindPassword\": $(json_str "$(cat "$samba_run/$name/admin.pw")"), \
\"caFile\": $(json_str "$samba_run/$name/tls/ca.pem"), \"fqdn\": $(json_str "$fqdn")}"
    sep=","
  done
  [ -z "$sep" ] || json+=$'\n'
  json+="}"
  private_dir "$samba_run"
  write_private "$samba_run/domains.json" "$json"
}

# Seconds since $1 (an $EPOCHREALTIME), to a tenth.
elapsed() {
  local us=$((${EPOCHREALTIME//[!0-9]/} - ${1//[!0-9]/}))
  printf '%d.%d' $((us / 1000000)) $((us % 1000000 / 100000))
}

# each FUNCTION ARG...: runs FUNCTION DOMAIN ARG... for every chosen domain at once; fails if any did.
each() {
  local fn="$1" d pids=() p rc=0
  shift
  for d in "${domains[@]}"; do ("$fn" "$d" "$@") & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return "$rc"
}

describe() {
  local realm netbios ip fqdn base_dn
  domain_info "$1"
  printf '%-7s %s  ldaps://%s:636  base %s  bind CN=Administrator,CN=Users,%s  CA %s\n' \
    "$1" "$realm" "$ip" "$base_dn" "$base_dn" "$samba_run/$1/tls/ca.pem"
}

action="${1:-}"
[ $# -eq 0 ] || shift
fresh=0 purge=0 domains=()
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=1 ;;
    --purge) purge=1 ;;
    -*) die "unknown option $arg" ;;
    *) domain_info "$arg"; domains+=("$arg") ;;
  esac
done
[ "${#domains[@]}" -gt 0 ] || domains=("${all_domains[@]}")

case "$action" in
  start | reset)
    [ "$action" = reset ] && fresh=1
    need_samba
    private_dir "$samba_run"
    take_lock "$samba_run/.lock"
    ensure_provisioned "${domains[@]}"
    rc=0
    each start_one "$fresh" || rc=1
    write_domains_file
    for d in "${domains[@]}"; do is_running "$d" && describe "$d"; done
    echo "domains file: $samba_run/domains.json"
    exit "$rc"
    ;;
  stop)
    [ -d "$samba_run" ] || { echo "samba stopped: ${domains[*]}"; exit 0; }
    take_lock "$samba_run/.lock"
    each stop_one
    if [ "$purge" = 1 ]; then for d in "${domains[@]}"; do rm -rf "${samba_run:?}/$d"; done; fi
    write_domains_file
    echo "samba stopped: ${domains[*]}"
    ;;
  status)
    rc=0
    for d in "${domains[@]}"; do
      if is_running "$d"; then describe "$d"; else echo "$d not running"; rc=3; fi
    done
    if [ -d "$samba_run" ]; then
      take_lock "$samba_run/.lock"
      write_domains_file
    fi
    exit "$rc"
    ;;
  *) echo "usage: $0 start [--fresh]|stop [--purge]|reset|status [DOMAIN...]   (domains: ${all_domains[*]})" >&2; exit 2 ;;
esac
