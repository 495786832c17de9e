#!/usr/bin/env bash
# Real Samba AD domain controllers for the demo and the tests: two independent throwaway domains
# at once, each on its own loopback address with its own realm and its own CA.
#   acme   ACME.TEST    127.0.0.2   DC=acme,DC=test
#   globex GLOBEX.TEST  127.0.0.3   DC=globex,DC=test
# A domain is provisioned once into the cache (a stopped, pristine copy) and copied into the run
# folder to start, so later starts take seconds. `reset` restores the pristine copy.
# Usage: scripts/samba.sh start|stop|status|reset [acme] [globex]
# Writes $STINT_RUN_DIR/samba/domains.json (mode 0600): per domain its LDAPS URL, base DN, admin
# bind DN and password, and CA file.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
samba_run="$run_dir/samba"
samba_cache="$cache_dir/samba"

domain_info() { # name → "REALM NETBIOS IP"
  case "$1" in
    acme) echo "ACME.TEST ACME 127.0.0.2" ;;
    globex) echo "GLOBEX.TEST GLOBEX 127.0.0.3" ;;
    *) echo "unknown domain $1 (acme or globex)" >&2; return 1 ;;
  esac
}

base_dn() { local realm="${1,,}"; echo "DC=${realm//./,DC=}"; }

make_tls() { # dir ip fqdn
  local dir="$1" ip="$2" fqdn="$3"
  mkdir -p "$dir" && chmod 700 "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=Stint test CA for $fqdn" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$fqdn" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 3650 -out "$dir/server.pem" \
    -extfile <(printf 'subjectAltName=IP:%s,DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$ip" "$fqdn") 2>/dev/null
  chmod 600 "$dir/ca.key" "$dir/server.key"
  rm -f "$dir/server.csr"
}

provision() { # name: into the cache, once
  local name="$1" realm netbios ip
  read -r realm netbios ip <<<"$(domain_info "$name")"
  local dir="$samba_cache/$name"
  [ -f "$dir/.provisioned" ] && return 0
  ensure_packages samba-ad-dc samba samba-ad-provision winbind ldb-tools openssl
  echo "provisioning $realm (once; later starts reuse it)…" >&2
  rm -rf "$dir" && mkdir -p "$dir" && chmod 700 "$dir"
  (umask 077; printf 'Aa1!%s' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" > "$dir/admin.pw")
  mkdir -p "$dir/run" "$dir/cache" "$dir/log"
  samba-tool domain provision --realm="$realm" --domain="$netbios" --server-role=dc --dns-backend=NONE \
    --adminpass="$(cat "$dir/admin.pw")" --targetdir="$dir" --host-name=dc1 --host-ip="$ip" --use-rfc2307 \
    --option="interfaces=$ip/8" --option="bind interfaces only=yes" \
    --option="pid directory=$dir/run" --option="ncalrpc dir=$dir/run/ncalrpc" \
    --option="winbindd socket directory=$dir/run/winbindd" --option="ntp signd socket directory=$dir/run/ntp_signd" \
    --option="log file=$dir/log/samba.log" --option="server services=ldap" >"$dir/log/provision.log" 2>&1 \
    || { echo "samba provisioning failed; see $dir/log/provision.log" >&2; exit 1; }
  local fqdn="dc1.${realm,,}"
  make_tls "$dir/tls" "$ip" "$fqdn"
  sed -i "/^\[global\]/a\\
\ttls enabled = yes\\
\ttls keyfile = $dir/tls/server.key\\
\ttls certfile = $dir/tls/server.pem\\
\ttls cafile = $dir/tls/ca.pem" "$dir/etc/smb.conf"
  # A reused throwaway domain: the admin password never expires, test users need no complexity.
  samba-tool user setexpiry Administrator --noexpiry -s "$dir/etc/smb.conf" >/dev/null
  samba-tool domain passwordsettings set --complexity=off --history-length=0 --min-pwd-age=0 --max-pwd-age=0 \
    -s "$dir/etc/smb.conf" >/dev/null
  echo "$dir" > "$dir/.origin"
  touch "$dir/.provisioned"
}

ldaps_answers() { # ip ca
  openssl s_client -connect "$1:636" -CAfile "$2" -verify_return_error </dev/null >/dev/null 2>&1
}

pidfile_of() { echo "$samba_run/$1/run/samba.pid"; }

is_running() { local name="$1" ip; read -r _ _ ip <<<"$(domain_info "$name")"; pid_alive "$(pidfile_of "$name")" && ldaps_answers "$ip" "$samba_run/$name/tls/ca.pem"; }

restore() { # name: a fresh working copy from the pristine cache
  local name="$1" from="$samba_cache/$1" to="$samba_run/$1"
  rm -rf "$to" && mkdir -p "$samba_run" && chmod 700 "$samba_run"
  cp -a "$from" "$to"
  grep -rlF "$(cat "$from/.origin")" "$to/etc" | xargs -r sed -i "s#$(cat "$from/.origin")#$to#g"
}

start_one() {
  local name="$1" realm netbios ip
  read -r realm netbios ip <<<"$(domain_info "$name")"
  provision "$name"
  if is_running "$name"; then return 0; fi
  stop_one "$name" >/dev/null
  if ss -Hltn "src $ip and sport = :636" | grep -q .; then
    echo "$ip:636 is taken by another process (another checkout's domain? stop it with its scripts/samba.sh stop)" >&2
    exit 1
  fi
  [ -f "$samba_run/$name/.provisioned" ] || restore "$name"
  samba -D -s "$samba_run/$name/etc/smb.conf"
  wait_for 90 ldaps_answers "$ip" "$samba_run/$name/tls/ca.pem" \
    || { echo "samba $realm did not answer on $ip:636; see $samba_run/$name/log/" >&2; exit 1; }
}

stop_one() {
  local name="$1" ip pidfile pid
  read -r _ _ ip <<<"$(domain_info "$name")"
  pidfile="$(pidfile_of "$name")"
  if pid_alive "$pidfile"; then
    pid="$(cat "$pidfile")"
    # samba -D is a session leader; its worker processes share its process group.
    kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    wait_for 15 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait_for 10 bash -c "! ss -Hltn 'src $ip and sport = :636' | grep -q ." || true
}

write_domains_file() {
  local first=1 name realm netbios ip
  mkdir -p "$samba_run"
  (
    umask 077
    printf '{'
    for name in acme globex; do
      is_running "$name" || continue
      read -r realm netbios ip <<<"$(domain_info "$name")"
      [ $first = 1 ] || printf ','
      first=0
      printf '\n  "%s": {"name": "%s", "realm": "%s", "host": "%s", "ldapsUrl": "ldaps://%s:636", "baseDn": "%s", "bindDn": "CN=Administrator,CN=Users,%s", "bindPassword": "%s", "caFile": "%s", "fqdn": "dc1.%s"}' \
        "$name" "$name" "$realm" "$ip" "$ip" "$(base_dn "$realm")" "$(base_dn "$realm")" \
        "$(cat "$samba_run/$name/admin.pw")" "$samba_run/$name/tls/ca.pem" "${realm,,}"
    done
    printf '\n}\n'
  ) > "$samba_run/domains.json.tmp"
  mv "$samba_run/domains.json.tmp" "$samba_run/domains.json"
}

describe() {
  local name="$1" realm ip
  read -r realm _ ip <<<"$(domain_info "$name")"
  echo "$name: ldaps://$ip:636  base $(base_dn "$realm")  bind CN=Administrator,CN=Users,$(base_dn "$realm")  CA $samba_run/$name/tls/ca.pem"
}

action="${1:-}"; shift || true
domains=("$@"); [ "${#domains[@]}" -gt 0 ] || domains=(acme globex)
case "$action" in
  start)
    # Provision one at a time (CPU-bound), then start.
    for d in "${domains[@]}"; do domain_info "$d" >/dev/null; provision "$d"; done
    for d in "${domains[@]}"; do start_one "$d"; done
    write_domains_file
    for d in "${domains[@]}"; do describe "$d"; done
    echo "domains file: $samba_run/domains.json"
    ;;
  stop)
    for d in "${domains[@]}"; do stop_one "$d"; done
    write_domains_file
    echo "samba stopped: ${domains[*]}"
    ;;
  reset)
    for d in "${domains[@]}"; do stop_one "$d"; provision "$d"; restore "$d"; start_one "$d"; done
    write_domains_file
    for d in "${domains[@]}"; do describe "$d"; done
    ;;
  status)
    rc=0
    for d in "${domains[@]}"; do if is_running "$d"; then echo "$d running"; else echo "$d not running"; rc=1; fi; done
    exit $rc
    ;;
  *) echo "usage: $0 start|stop|status|reset [acme] [globex]" >&2; exit 2 ;;
esac
