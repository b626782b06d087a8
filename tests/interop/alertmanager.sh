#!/usr/bin/env bash
# The built-in Alertmanager against Debian's tools: Prometheus sends two
# alerts of one group, the webhook receiver gets ONE version-4 payload with
# both after group_wait; amtool adds, queries and expires a silence and
# posts an alert; bad input is refused with 400.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer prometheus command -v prometheus
require_peer amtool command -v amtool

PASS=0; FAIL=0
ok() { echo "ok: $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL: $1"; FAIL=$((FAIL + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

HS_PORT=$(free_port); PROM_PORT=$(free_port); HOOK_PORT=$(free_port)
HOOK_OUT="$WORK/webhook.jsonl"; : > "$HOOK_OUT"
python3 tests/interop/webhook_sink.py "$HOOK_PORT" "$HOOK_OUT" &
PIDS+=($!)
wait_http "http://127.0.0.1:$HOOK_PORT/" 10

cat > "$WORK/alertmanager.yml" <<YAML
route:
  receiver: hook
  group_by: [alertname, job]
  group_wait: 2s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: 'http://127.0.0.1:$HOOK_PORT/hook'}]
YAML
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
external_url: http://homeostat.test:$HS_PORT
alertmanager: {config_file: alertmanager.yml}
YAML
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"
AM="http://127.0.0.1:$HS_PORT"

cat > "$WORK/rules.yml" <<YAML
groups:
  - name: interop
    rules:
      - alert: InteropPair
        expr: vector(1)
        labels: {job: pairjob, instance: a}
      - alert: InteropPair
        expr: vector(2)
        labels: {job: pairjob, instance: b}
YAML
cat > "$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ['$WORK/rules.yml']
alerting:
  alertmanagers:
    - api_version: v2
      static_configs: [{targets: ['127.0.0.1:$HS_PORT']}]
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --rules.alert.resend-delay=2s > "$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
PIDS+=($PROM_PID)

# (b) Prometheus -> homeostat -> webhook: one grouped v4 payload.
deadline=$((SECONDS + 45))
until [ -s "$HOOK_OUT" ] || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
sleep 3 # a second (wrong) payload would arrive within group_interval's first tick
check "webhook received exactly one notification" test "$(wc -l < "$HOOK_OUT")" -eq 1
check "v4 payload groups both alerts per group_by" python3 - "$HOOK_OUT" "$HS_PORT" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
p = json.loads(lines[0])
want = {
    "version": "4", "status": "firing", "receiver": "hook",
    "groupKey": '{}:{alertname="InteropPair", job="pairjob"}',
    "groupLabels": {"alertname": "InteropPair", "job": "pairjob"},
    "externalURL": "http://homeostat.test:%s" % sys.argv[2],
}
bad = {k: (p.get(k), v) for k, v in want.items() if p.get(k) != v}
inst = sorted(a["labels"]["instance"] for a in p["alerts"])
if inst != ["a", "b"]:
    bad["alerts"] = inst
if any(a["status"] != "firing" or not a["generatorURL"] for a in p["alerts"]):
    bad["alert status"] = [a["status"] for a in p["alerts"]]
if bad:
    print("payload differs:", bad); sys.exit(1)
PY
kill "$PROM_PID" 2>/dev/null

# (c) amtool round trip. (amtool warns on stderr that versions differ.)
AMT=(amtool --alertmanager.url="$AM")
check "amtool alert query lists the Prometheus alerts" bash -c "'${AMT[0]}' '${AMT[1]}' alert query InteropPair | grep -c InteropPair | grep -qx 2"
SID=$("${AMT[@]}" silence add alertname=InteropPair instance=a --comment=interop --duration=1h 2>/dev/null)
check "amtool silence add returns an id ($SID)" bash -c "[[ '$SID' =~ ^[0-9a-f-]{36}$ ]]"
check "amtool silence query lists it" bash -c "'${AMT[0]}' '${AMT[1]}' silence query -q | grep -qx '$SID'"
check "amtool alert query hides the silenced alert" bash -c "'${AMT[0]}' '${AMT[1]}' alert query InteropPair | grep -c InteropPair | grep -qx 1"
check "amtool alert query --silenced shows it" bash -c "'${AMT[0]}' '${AMT[1]}' alert query --silenced InteropPair | grep -q InteropPair"
check "the API marks it suppressed by the silence" bash -c "curl -fsS '$AM/api/v2/alerts?filter=instance%3D%22a%22' | grep -q '\"silencedBy\":\[\"$SID\"\]'"
check "amtool silence expire" "${AMT[@]}" silence expire "$SID"
check "expired silence no longer listed" bash -c "! '${AMT[0]}' '${AMT[1]}' silence query -q | grep -q ."
check "amtool silence query --expired still has it" bash -c "'${AMT[0]}' '${AMT[1]}' silence query --expired -q | grep -qx '$SID'"
check "amtool alert add" "${AMT[@]}" alert add alertname=AmtoolAdded severity=info --annotation=summary=hi
check "the amtool alert is listed" bash -c "'${AMT[0]}' '${AMT[1]}' alert query AmtoolAdded | grep -q AmtoolAdded"
check "amtool config show reads /api/v2/status" bash -c "'${AMT[0]}' '${AMT[1]}' config show | grep -q 'group_wait: 2s'"

# (d) bad input.
check "alert without labels -> 400 naming it" bash -c "[ \"\$(curl -s -o '$WORK/b1' -w '%{http_code}' -H 'Content-Type: application/json' -d '[{\"labels\":{\"a\":\"b\"}},{\"labels\":{}}]' '$AM/api/v2/alerts')\" = 400 ] && grep -q 'alerts\[1\]' '$WORK/b1'"
check "invalid silence matcher -> 400" bash -c "[ \"\$(curl -s -o '$WORK/b2' -w '%{http_code}' -H 'Content-Type: application/json' -d '{\"matchers\":[{\"name\":\"job\",\"value\":\"(\",\"isRegex\":true,\"isEqual\":true}],\"startsAt\":\"2030-01-01T00:00:00Z\",\"endsAt\":\"2030-01-02T00:00:00Z\",\"createdBy\":\"x\",\"comment\":\"y\"}' '$AM/api/v2/silences')\" = 400 ] && grep -q 'invalid regex' '$WORK/b2'"
check "silence with endsAt before startsAt -> 400" bash -c "[ \"\$(curl -s -o '$WORK/b3' -w '%{http_code}' -H 'Content-Type: application/json' -d '{\"matchers\":[{\"name\":\"job\",\"value\":\"x\",\"isRegex\":false,\"isEqual\":true}],\"startsAt\":\"2030-01-02T00:00:00Z\",\"endsAt\":\"2030-01-01T00:00:00Z\",\"createdBy\":\"x\",\"comment\":\"y\"}' '$AM/api/v2/silences')\" = 400 ] && grep -q endsAt '$WORK/b3'"
check "unknown silence -> 404" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$AM/api/v2/silence/00000000-0000-4000-8000-000000000000')\" = 404 ]"
check "metrics count the notification" bash -c "curl -fsS '$AM/metrics' | grep -q 'homeostat_notifications_total{receiver=\"hook\",integration=\"webhook\",outcome=\"sent\"} 1'"

# (e) reloads: a bad Alertmanager file keeps the running config; a good one replaces it.
cp "$WORK/alertmanager.yml" "$WORK/alertmanager.good"
sed -i 's/receiver: hook/receiver: nobody/' "$WORK/alertmanager.yml"
check "bad reload is refused naming the receiver" bash -c "[ \"\$(curl -s -o '$WORK/r1' -w '%{http_code}' -X POST '$AM/-/reload')\" != 200 ] && grep -q nobody '$WORK/r1'"
check "the running config stays" bash -c "curl -fsS '$AM/api/v2/status' | grep -q 'receiver: hook'"
sed 's/group_wait: 2s/group_wait: 3s/' "$WORK/alertmanager.good" > "$WORK/alertmanager.yml"
check "good reload applies" bash -c "curl -fsS -X POST '$AM/-/reload' >/dev/null && curl -fsS '$AM/api/v2/status' | grep -q 'group_wait: 3s'"

if [ "$FAIL" -gt 0 ]; then
  echo "--- homeostat log (tail)"; tail -20 "$WORK/homeostat.log"
  echo "--- webhook payloads"; cat "$HOOK_OUT"
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
