#!/usr/bin/env bash
# `npm run demo`: runs Stint for real on its embedded default — SQLite, a local Redis and a local
# demo AD domain (Samba) — seeds a demo tenant and two accounts, prints the URL and credentials,
# and serves the API and the worker in the foreground (Ctrl-C stops them; scripts/services.sh stop
# stops the servers).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
. scripts/node-env.sh
bash scripts/install-deps.sh
run_dir="${STINT_RUN_DIR:-$repo/.run}"
demo="$run_dir/demo"
mkdir -p "$demo" && chmod 700 "$demo"

bash scripts/redis.sh start >/dev/null
bash scripts/samba.sh start acme >/dev/null

# The demo makes its own master key and passwords once, kept only in the run folder.
umask 077
[ -s "$demo/master.key" ] || node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64'))" > "$demo/master.key"
if [ ! -s "$demo/credentials.json" ]; then
  node -e "
    const pw = () => require('node:crypto').randomBytes(12).toString('base64url');
    process.stdout.write(JSON.stringify({ admin: { username: 'admin', password: pw() }, technician: { username: 'jdoe', password: pw() } }));
  " > "$demo/credentials.json"
fi

export STINT_SECRETS__MASTER_KEY_FILE="$demo/master.key"
export STINT_DATA_DIR="$demo/data"
export STINT_REDIS__URL="$(cat "$run_dir/redis/url")"
export STINT_SERVER__PORT="${STINT_SERVER__PORT:-8080}"
export STINT_LOGGING__LEVEL="${STINT_LOGGING__LEVEL:-warn}"

grantable="$(node scripts/demo-directory.ts "$run_dir/samba/domains.json")"
seed_input="$(node -e "
  const fs = require('node:fs');
  const domains = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
  const creds = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const d = domains.acme;
  process.stdout.write(JSON.stringify({ domain: { name: d.name, ldapsUrl: d.ldapsUrl, baseDn: d.baseDn, bindDn: d.bindDn, bindPassword: d.bindPassword, caFile: d.caFile }, ...creds, grantable: JSON.parse(process.argv[3]) }));
" "$run_dir/samba/domains.json" "$demo/credentials.json" "$grantable")"
seeded="$(printf '%s' "$seed_input" | node src/cli/index.ts demo seed)"
secret="$(printf '%s' "$seeded" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>process.stdout.write(JSON.parse(s).technicianTotpSecret??''))")"
[ -n "$secret" ] && printf '%s' "$secret" > "$demo/jdoe.totp"

url="http://127.0.0.1:$STINT_SERVER__PORT"
node -e "
  const fs = require('node:fs');
  const c = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
  const secret = fs.existsSync(process.argv[2]) ? fs.readFileSync(process.argv[2], 'utf8') : '(see $demo/jdoe.totp)';
  console.log('');
  console.log('Stint demo');
  console.log('  URL:         ' + process.argv[3]);
  console.log('  API docs:    ' + process.argv[3] + '/api/v1/openapi.json');
  console.log('  tenant:      acme (demo domain ACME.TEST on ldaps://127.0.0.2); jdoe may request profile helpdesk');
  console.log('  admin:       ' + c.admin.username + ' / ' + c.admin.password + '   (enrols TOTP at first login)');
  console.log('  technician:  ' + c.technician.username + ' / ' + c.technician.password);
  console.log('  jdoe TOTP secret: ' + secret + '   (add it to an authenticator app, or: echo SECRET | bin/stint demo code)');
  console.log('');
" "$demo/credentials.json" "$demo/jdoe.totp" "$url"
# The worker runs beside the API and stops with it.
node workers/main.ts &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT
node src/main.ts
