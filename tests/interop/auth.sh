#!/usr/bin/env bash
# The trust boundary with real clients: a server with basic-auth users in a
# web config file (Prometheus's format) and per-user scopes.
#  - Debian's prometheus remote-writes with `basic_auth` (password_file);
#    it lands, and a wrong password is refused with 401 (the sender's log
#    says so);
#  - amtool with --http.config.file (basic auth) queries and silences; without
#    it amtool is refused;
#  - every route `homeostat routes` lists refuses an anonymous caller (401,
#    console pages 303 to /login), public ones answer, and a read-only user
#    gets 403 naming the scope;
#  - a non-loopback listen address without authentication refuses to start;
#  - Debian's headless chromium signs in at /login, sees a console page, and
#    a form on another origin posting to the API with the session is refused
#    (tests/browser/signin.mjs).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer prometheus command -v prometheus
require_peer amtool command -v amtool
require_peer python3 python3 -c 'import http.server'
require_peer node node --version
require_peer npm npm --version
require_peer chromium test -x "${CHROMIUM:-/usr/bin/chromium}"

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }

# The password of every user below is `interop-secret` (bcrypt, cost 10).
HASH='$2b$10$Ck3/fM3Zh9egGs3OQydp6eiCy1pYtQ1i6h7f6zG0.5.Xyg3qaHb/O'
PASS=interop-secret

# 1. Exposure without authentication refuses to start, naming the fixes.
P0=$(free_port)
if "$HOMEOSTAT" serve --listen "0.0.0.0:$P0" --data-dir "$WORK/exposed" > "$WORK/exposed.log" 2>&1 & then
  pid=$!; PIDS+=($pid)
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    bad "0.0.0.0 without authentication started"
    kill "$pid" 2>/dev/null || true
  elif grep -q -- "--web.config.file" "$WORK/exposed.log" && grep -q "auth: none" "$WORK/exposed.log"; then
    ok "0.0.0.0 without authentication refuses to start, naming --web.config.file and auth: none"
  else
    bad "0.0.0.0 refused without naming the fix"; cat "$WORK/exposed.log"
  fi
fi

HS_PORT=$(free_port); PROM_PORT=$(free_port); TARGET_PORT=$(free_port)
URL="http://127.0.0.1:$HS_PORT"
cat > "$WORK/web.yml" <<YAML
basic_auth_users:
  admin: '$HASH'
  prometheus: '$HASH'
  viewer: '$HASH'
YAML
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
auth:
  users:
    prometheus: [write]
    viewer: [read]
YAML
# An API token for Prometheus, made offline before the server starts (the
# bootstrap path: no server and no credentials needed).
mkdir -p "$WORK/hs-data"
"$HOMEOSTAT" token create --data-dir "$WORK/hs-data" --name prometheus-ci --scope write > "$WORK/token" ||
  { bad "homeostat token create failed"; }
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml" --web.config.file "$WORK/web.yml"

# 2. Every route of the table refuses anonymous callers.
"$HOMEOSTAT" routes > "$WORK/routes.txt"
n=0; wrong=()
while read -r method path access; do
  uri=${path//\{name\}/job}; uri=${uri//\{item\}/1}; uri=${uri//\{schedule\}/primary}; uri=${uri//\{id\}/x}
  hdrs=$(curl -s -D - -o /dev/null -X "$method" "$URL$uri" | tr -d '\r')
  code=$(head -1 <<<"$hdrs" | cut -d' ' -f2)
  n=$((n + 1))
  case $access in
    # A public handler may answer 401 itself (a wrong sign-in), never with a challenge.
    public) [[ $code != 403 ]] && ! grep -qi '^www-authenticate:' <<<"$hdrs" || wrong+=("$method $path ($access): $code") ;;
    page) [[ $code == 303 ]] || wrong+=("$method $path ($access): $code") ;;
    *) [[ $code == 401 ]] || wrong+=("$method $path ($access): $code") ;;
  esac
done < "$WORK/routes.txt"
if [ "$n" -gt 60 ] && [ ${#wrong[@]} -eq 0 ]; then
  ok "all $n routes refuse anonymous callers (public ones answer, pages redirect to /login)"
else
  bad "routes answered anonymous callers wrongly ($n checked): ${wrong[*]}"
fi
hdr=$(curl -s -D - -o /dev/null "$URL/api/v1/query?query=up" | tr -d '\r')
if grep -qi '^www-authenticate: Basic realm="homeostat"' <<<"$hdr"; then ok "401 carries WWW-Authenticate: Basic"
else bad "no Basic challenge: $hdr"; fi
body=$(curl -s -u "viewer:$PASS" -X POST -H 'Content-Type: application/json' "$URL/api/v1/incidents" \
  -d '{"title":"x","severity":"sev3","by":"viewer"}' -w ' %{http_code}')
if [[ $body == *" 403" && $body == *respond* ]]; then ok "a read-only user gets 403 naming the respond scope"
else bad "read-only user declaring an incident: $body"; fi

# 3. Prometheus remote-writes with basic_auth and a password file, and with
# an API token in `authorization: {credentials_file}`.
python3 tests/interop/target.py "$TARGET_PORT" 4 &
PIDS+=($!)
wait_http "http://127.0.0.1:$TARGET_PORT/metrics"
printf '%s' "$PASS" > "$WORK/password"
printf '%s' "wrong" > "$WORK/wrong"
cat > "$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: target
    static_configs: [{targets: ['127.0.0.1:$TARGET_PORT']}]
remote_write:
  - name: basic
    url: $URL/api/v1/write
    basic_auth: {username: prometheus, password_file: $WORK/password}
    write_relabel_configs: [{target_label: via, replacement: basic_auth}]
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
  - name: token
    url: $URL/api/v1/write
    authorization: {credentials_file: $WORK/token}
    write_relabel_configs: [{target_label: via, replacement: token}]
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
  - name: wrong
    url: $URL/api/v1/write
    basic_auth: {username: prometheus, password_file: $WORK/wrong}
    write_relabel_configs: [{target_label: via, replacement: wrong}]
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" > "$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 60 || { cat "$WORK/prometheus.log"; exit 1; }
count() { # via
  curl -s -u "viewer:$PASS" "$URL/api/v1/query" --data-urlencode "query=count(up{via=\"$1\"})" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}
for _ in $(seq 60); do
  [ "$(count basic_auth)" != 0 ] && [ "$(count token)" != 0 ] && break
  sleep 0.5
done
for via in basic_auth token; do
  if [ "$(count "$via")" != 0 ]; then ok "prometheus remote-writes with $via"
  else bad "nothing arrived by $via"; tail -20 "$WORK/prometheus.log"; fi
done
sleep 2
if [ "$(count wrong)" = 0 ] && grep -q '401' "$WORK/prometheus.log"; then
  ok "a wrong remote-write password is refused (401 in prometheus's log)"
else
  bad "wrong password: $(count wrong) series arrived"; grep -i 'wrong\|401' "$WORK/prometheus.log" | tail -5
fi

# 4. amtool with --http.config.file.
cat > "$WORK/http.yml" <<YAML
basic_auth: {username: admin, password: $PASS}
YAML
if amtool --alertmanager.url="$URL" --http.config.file="$WORK/http.yml" silence add alertname=Interop \
    --comment "auth.sh" --duration 1h > "$WORK/silence.id" 2> "$WORK/amtool.err" &&
   amtool --alertmanager.url="$URL" --http.config.file="$WORK/http.yml" silence query -q | grep -qF "$(cat "$WORK/silence.id")"; then
  ok "amtool --http.config.file with basic auth adds and lists a silence"
else
  bad "amtool with basic auth: $(cat "$WORK/amtool.err")"
fi
if amtool --alertmanager.url="$URL" silence query > /dev/null 2>&1; then
  bad "amtool without credentials was answered"
else
  ok "amtool without credentials is refused"
fi

# 5. The console in chromium: sign in, then a cross-origin form post.
if ! (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error > "$WORK/npm.log" 2>&1); then
  cat "$WORK/npm.log"; bad "npm ci in tests/browser"
else
  EVIL_PORT=$(free_port)
  mkdir -p "$WORK/evil"
  cat > "$WORK/evil/index.html" <<HTML
<!doctype html><form id="f" method="post" action="$URL/api/v1/incidents" enctype="text/plain">
<input name='{"title":"csrf","severity":"sev1","x":"' value='"}'></form>
<script>document.getElementById("f").submit()</script>
HTML
  python3 -m http.server "$EVIL_PORT" --bind 127.0.0.1 --directory "$WORK/evil" > /dev/null 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$EVIL_PORT/" 10
  if timeout 300 node tests/browser/signin.mjs --base "$URL" --user admin --password "$PASS" \
      --evil "http://127.0.0.1:$EVIL_PORT/"; then
    ok "chromium signs in at /login; a cross-origin form post with the session is refused"
  else
    bad "chromium sign-in (above)"; tail -20 "$WORK/homeostat.log"
  fi
  csrf=$(curl -s -u "admin:$PASS" "$URL/api/v1/incidents" | grep -c '"csrf"' || true)
  if [ "$csrf" = 0 ]; then ok "the cross-origin post declared no incident"
  else bad "the cross-origin post declared an incident"; fi
fi

if grep -q "$PASS" "$WORK/homeostat.log"; then bad "a password is in homeostat's log"
else ok "no password in homeostat's log"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
