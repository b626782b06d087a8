#!/usr/bin/env bash
# No configured secret leaves homeostat: every receiver type of the built-in
# Alertmanager is configured with a distinctive secret (inline, from a
# *_file, from ${ENV}), alerts are sent through all of them (one endpoint
# fails and echoes its path back, the SMTP relay is down, so errors and
# retries are exercised), then the server log, /metrics, the status and
# alert APIs and every console page are searched for each secret.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer curl command -v curl
require_peer python3 command -v python3

PASS=0; FAIL=0
ok() { echo "ok: $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL: $1"; FAIL=$((FAIL + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

HS_PORT=$(free_port); SINK_PORT=$(free_port); ECHO_PORT=$(free_port); SMTP_PORT=$(free_port)
SINK_OUT="$WORK/sink.jsonl"; : > "$SINK_OUT"
python3 tests/interop/webhook_sink.py "$SINK_PORT" "$SINK_OUT" &
PIDS+=($!)
# A receiver that refuses every POST and quotes the path it was sent to,
# as some real ones do ("no hook at /...").
python3 - "$ECHO_PORT" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = ("no hook at %s (http://127.0.0.1%s)" % (self.path, self.path)).encode()
        self.send_response(500); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
PIDS+=($!)
wait_http "http://127.0.0.1:$SINK_PORT/" 10
wait_http "http://127.0.0.1:$ECHO_PORT/" 10

# Each secret is distinctive so that a grep for it finds nothing else.
S_HOOK=sEcHookPath7f3a S_QUERY=sEcHookQuery91b2 S_FAILHOOK=sEcFailHook55d0
S_SLACK=sEcSlackEnv0c4e S_PD=sEcRoutingFile8a21 S_SMTP=sEcSmtpPass3e9d
S_GSMTP=sEcGlobalSmtp61f0 S_BASIC=sEcBasicAuth2b7c S_BEARER=sEcBearer4d18
S_OPSGENIE=sEcOpsgenie9e55 S_WECHAT=sEcWechat13aa S_BASICFILE=sEcBasicFile77c3
SECRETS=($S_HOOK $S_QUERY $S_FAILHOOK $S_SLACK $S_PD $S_SMTP $S_GSMTP $S_BASIC $S_BEARER
  $S_OPSGENIE $S_WECHAT $S_BASICFILE)

printf 'http://127.0.0.1:%s/fail/%s\n' "$ECHO_PORT" "$S_FAILHOOK" > "$WORK/failhook.url"
printf '%s\n' "$S_PD" > "$WORK/pd.key"
printf '%s\n' "$S_BASICFILE" > "$WORK/basic.pw"
export HOMEOSTAT_SECRETS_SLACK="http://127.0.0.1:$SINK_PORT/slack/$S_SLACK"

cat > "$WORK/alertmanager.yml" <<YAML
global:
  smtp_smarthost: '127.0.0.1:$SMTP_PORT'
  smtp_from: am@example.test
  smtp_auth_username: am
  smtp_auth_password: $S_GSMTP
  smtp_require_tls: false
  opsgenie_api_key: $S_OPSGENIE
  wechat_api_secret: $S_WECHAT
route:
  receiver: all
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: all
    webhook_configs:
      - url: 'http://127.0.0.1:$SINK_PORT/hook/$S_HOOK?token=$S_QUERY'
        http_config:
          basic_auth: {username: u, password: $S_BASIC}
      - url_file: failhook.url
        http_config:
          authorization: {credentials: $S_BEARER}
      - url: 'http://127.0.0.1:$SINK_PORT/hook2'
        http_config:
          basic_auth: {username: u, password_file: basic.pw}
    slack_configs:
      - api_url: '\${HOMEOSTAT_SECRETS_SLACK}'
        channel: '#ops'
        send_resolved: true
    pagerduty_configs:
      - routing_key_file: pd.key
        url: 'http://127.0.0.1:$SINK_PORT/pd'
    email_configs:
      - to: oncall@example.test
        auth_username: me
        auth_password: $S_SMTP
        require_tls: false
      - to: ops@example.test
YAML
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
alertmanager: {config_file: alertmanager.yml, expand_env: true}
YAML
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"
HS="http://127.0.0.1:$HS_PORT"

post_alert() { # NAME [endsAt]
  local ends=${2:+,\"endsAt\":\"$2\"}
  curl -fsS -H 'Content-Type: application/json' \
    -d "[{\"labels\":{\"alertname\":\"$1\",\"severity\":\"page\"},\"annotations\":{\"summary\":\"secrets interop\"}$ends}]" \
    "$HS/api/v2/alerts" >/dev/null
}
check "alert accepted" post_alert SecretsInterop
# Deliveries: the sink gets the webhook, slack and pagerduty posts.
deadline=$((SECONDS + 30))
until [ "$(wc -l < "$SINK_OUT")" -ge 4 ] || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
check "the sink received webhook, slack and pagerduty posts" test "$(wc -l < "$SINK_OUT")" -ge 4
check "the routing key read from its file reached PagerDuty's endpoint" grep -q "$S_PD" "$SINK_OUT"
# Resolve it, so that send_resolved paths and the failing receivers run again.
check "resolve accepted" post_alert SecretsInterop "$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ)"
sleep 8 # a few retries of the failing webhook and the unreachable SMTP relay
check "the failing webhook is in the log (redacted)" grep -q "127.0.0.1:$ECHO_PORT" "$WORK/homeostat.log"
check "its echoed path is logged as <secret>" grep -q "no hook at <secret>" "$WORK/homeostat.log"
check "the unreachable SMTP relay is in the log" grep -q "smtp" "$WORK/homeostat.log"

# Reload with the same files: *_file and ${ENV} are read again.
check "reload succeeds" curl -fsS -X POST "$HS/-/reload" -o /dev/null

# Everything an operator or a client can see.
curl -fsS "$HS/metrics" > "$WORK/seen.metrics"
curl -fsS "$HS/api/v2/status" > "$WORK/seen.status"
curl -fsS "$HS/api/v2/receivers" > "$WORK/seen.receivers"
curl -fsS "$HS/api/v2/alerts/groups" > "$WORK/seen.groups"
curl -fsS "$HS/api/v1/incidents" > "$WORK/seen.incidents"
curl -sS "$HS/api/v1/status/config" > "$WORK/seen.promconfig" || true
curl -sS "$HS/api/v1/status/runtimeinfo" > "$WORK/seen.runtimeinfo" || true
for p in / /console/alerts /console/incidents /console/oncall /console/about /console/services; do
  curl -fsS "$HS$p" > "$WORK/seen.console$(echo "$p" | tr / _)" || bad "console page $p"
done
check "status shows the file with secrets masked" grep -q '<secret>' "$WORK/seen.status"
check "status keeps the non-secret settings" grep -q 'smtp_from: am@example.test' "$WORK/seen.status"
# A wrong config names the field and file but not the secret it was reading.
cp "$WORK/alertmanager.yml" "$WORK/alertmanager.good"
sed -i 's/routing_key_file: pd.key/routing_key_file: missing.key/' "$WORK/alertmanager.yml"
curl -sS -X POST "$HS/-/reload" > "$WORK/seen.reload-error"
check "a missing *_file names the field and the file" grep -q 'routing_key_file.*missing.key' "$WORK/seen.reload-error"
cp "$WORK/alertmanager.good" "$WORK/alertmanager.yml"

sleep 1
for s in "${SECRETS[@]}"; do
  found=$(grep -l -- "$s" "$WORK/homeostat.log" "$WORK"/seen.* 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ')
  check "secret $s appears nowhere${found:+ (found in: $found)}" test -z "$found"
done

if [ "$FAIL" -gt 0 ]; then
  echo "--- homeostat log (tail)"; tail -30 "$WORK/homeostat.log"
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
