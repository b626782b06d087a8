#!/usr/bin/env bash
# The closed loop in a running server (docs/remediation.md): a rule fires
# per instance, its alert group opens an incident, and a remediation policy
# acts first (a "restart" webhook) while the page waits.
#  1. instance a: the restart fixes it (the test stops the errors when the
#     webhook arrives); after the verification window the incident is
#     auto-remediated, mitigated, and resolved when the alert clears —
#     nobody is paged.
#  2. instance b: the restart does not help; the actions run out and the
#     on-call person is paged exactly once, with the attempt on the timeline.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer python3 python3 -c 'import http.server'

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }

HOOKS="$WORK/hooks.jsonl"; : > "$HOOKS"
python3 tests/interop/page_receiver.py "$HOOKS" > "$WORK/receiver.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/receiver.port" ] && break; sleep 0.1; done
RPORT=$(cat "$WORK/receiver.port")
HS_PORT=$(free_port)
URL="http://127.0.0.1:$HS_PORT"

cat > "$WORK/rules.yml" <<'YAML'
groups:
  - name: checkout
    interval: 1s
    rules:
      - alert: CheckoutErrors
        expr: max by (service, instance) (checkout_errors) > 0.5
        labels: {severity: page}
YAML
# Notifications go to a channel (/channel); pages to a person are the
# escalation's (/alice).
cat > "$WORK/alertmanager.yml" <<YAML
route:
  receiver: channel
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: channel
    webhook_configs: [{url: 'http://127.0.0.1:$RPORT/channel'}]
YAML
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
rule_files: [rules.yml]
alertmanager: {config_file: alertmanager.yml}
oncall:
  users:
    - {id: alice, webhook_url: "http://127.0.0.1:$RPORT/alice"}
  escalation_policies:
    - id: ops
      levels:
        - {delay: 1h, targets: [{user: alice}]}
incidents:
  default_escalation_policy: ops
remediation:
  policies:
    - name: restart-checkout
      trigger:
        alert: ['alertname="CheckoutErrors"']
      target_labels: [service, instance]
      actions:
        - name: restart
          webhook: {url: "http://127.0.0.1:$RPORT/restart", body: '{"instance":"{{.instance}}"}'}
          verify: 6s
YAML
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"

# checkout_errors per instance, from files the test flips, pushed every second.
echo 0 > "$WORK/a"; echo 0 > "$WORK/b"
python3 - "$URL/api/v1/write" "$WORK" > "$WORK/pusher.log" 2>&1 <<'PY' &
import sys, time
sys.path.insert(0, "tests/interop")
from promgen import push
url, work = sys.argv[1], sys.argv[2]
while True:
    now = int(time.time() * 1000)
    series = []
    for inst in ("a", "b"):
        v = float(open(f"{work}/{inst}").read().strip() or 0)
        series.append(({"__name__": "checkout_errors", "service": "checkout", "instance": inst}, [(now, v)]))
    try:
        push(url, series)
    except Exception as e:
        print("push failed:", e, flush=True)
    time.sleep(1)
PY
PIDS+=($!)

hits() { grep -c "\"/$1\"" "$HOOKS" || true; }
wait_for() { # SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.5; done
}
incident_of() { # INSTANCE -> id of its incident
  curl -fsS "$URL/api/v1/incidents?service=checkout" | python3 -c '
import json, sys
inst = sys.argv[1]
for i in json.load(sys.stdin)["data"]:
    if i["labels"].get("instance") == inst:
        print(i["id"]); break' "$1"
}
state_of() { curl -fsS "$URL/api/v1/incidents/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["state"])'; }

echo "== 1: instance a, fixed by the restart"
echo 1 > "$WORK/a"
if wait_for 30 bash -c "[ \$(grep -c '\"/restart\"' '$HOOKS' || true) -ge 1 ]"; then
  ok "the policy called the restart webhook"; echo 0 > "$WORK/a"
else bad "no restart webhook within 60 s"; fi
INC_A=$(incident_of a || true)
[ -n "$INC_A" ] && ok "incident $INC_A opened for instance a" || bad "no incident for instance a"
if [ -n "$INC_A" ] && wait_for 30 bash -c "[ \"\$(curl -fsS '$URL/api/v1/incidents/$INC_A' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"data\"][\"state\"])')\" = resolved ]"; then
  ok "incident $INC_A auto-remediated and resolved when the alert cleared"
else bad "incident a is $( [ -n "$INC_A" ] && state_of "$INC_A")"; fi
if [ -n "$INC_A" ] && curl -fsS "$URL/api/v1/incidents/$INC_A" | python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["timeline"]
for e in t:
    print("  timeline:", e.get("actor"), "|", e["summary"])
assert any("auto-remediated" in e["summary"] for e in t)'; then ok "timeline: auto-remediated by the policy"; else bad "timeline of a"; fi
[ "$(hits alice)" = 0 ] && ok "nobody was paged for a" || bad "alice was paged $(hits alice) time(s) for a"

echo "== 2: instance b, the restart does not help"
echo 1 > "$WORK/b"
if wait_for 30 bash -c "[ \$(grep -c '\"/restart\"' '$HOOKS' || true) -ge 2 ]"; then ok "the policy tried the restart on b"; else bad "no restart for b"; fi
if wait_for 30 bash -c "[ \$(grep -c '\"/alice\"' '$HOOKS' || true) -ge 1 ]"; then ok "actions ran out: alice paged"; else bad "alice never paged"; fi
sleep 8
[ "$(hits alice)" = 1 ] && ok "paged exactly once" || bad "alice paged $(hits alice) times"
INC_B=$(incident_of b || true)
if [ -n "$INC_B" ] && curl -fsS "$URL/api/v1/incidents/$INC_B" | python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["timeline"]
s = [e["summary"] for e in t]
for x in s: print("  timeline:", x)
assert any("restart" in x for x in s), "no restart attempt on the timeline"
assert any("paging" in x or "ran out" in x or "exhausted" in x for x in s), "no exhaustion note"'; then
  ok "timeline of $INC_B shows the attempt before the page"; else bad "timeline of b"; fi
if curl -fsS "$URL/api/v1/remediation/runs" | python3 -c '
import json, sys
runs = json.load(sys.stdin)["data"]
states = sorted(r["state"] for r in runs)
print("  runs:", states)
assert states == ["exhausted", "recovered"], states'; then ok "runs API: one recovered, one exhausted"; else bad "runs API"; fi

if "$HOMEOSTAT" remediation --url "$URL" runs > "$WORK/runs.txt" 2>&1 && grep exhausted "$WORK/runs.txt" >/dev/null && grep recovered "$WORK/runs.txt" >/dev/null; then
  ok "homeostat remediation runs lists both"; else bad "cli runs: $(cat "$WORK/runs.txt")"; fi
RUN_B=$(curl -fsS "$URL/api/v1/remediation/runs" | python3 -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin)["data"] if r["state"]=="exhausted"][0])')
if ! "$HOMEOSTAT" remediation --url "$URL" approve "$RUN_B" > "$WORK/approve.txt" 2>&1 && grep -i "not waiting for approval" "$WORK/approve.txt" >/dev/null; then
  ok "approving a run that waits for nothing is refused with the reason"; else bad "cli approve: $(cat "$WORK/approve.txt")"; fi

# The incident page shows the runs (chromium).
BROWSER=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$BROWSER" ]; then
  if [ "${CI:-}" = "true" ]; then bad "chromium is missing (scripts/install-peers.sh installs it)"; else echo "skip: chromium missing"; fi
elif [ -n "$INC_B" ]; then
  timeout 60 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --virtual-time-budget=8000 --dump-dom "$URL/console/incident?id=$INC_B" > "$WORK/inc-dom.html" 2> "$WORK/chromium.log" || true
  if python3 - "$WORK/inc-dom.html" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
i = dom.find('id="remediation"')
assert i > 0, "no remediation panel"
panel = dom[i:i + 20000]
assert "restart-checkout" in panel and "exhausted" in panel, panel[:400]
err = re.search(r'<div id="error"[^>]*>([^<]*)<', dom)
assert not (err and err.group(1).strip()), f"page shows an error: {err.group(1)}"
PY
  then ok "incident page lists the exhausted run (chromium)"; else bad "incident page remediation panel"; fi
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ] || {
  tail -40 "$WORK/homeostat.log"; tail -5 "$WORK/pusher.log"
  curl -sS "$URL/api/v1/alerts" | head -c 1500; echo
  curl -sS "$URL/api/v1/incidents" | head -c 1500; echo
  exit 1
}
