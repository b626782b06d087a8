#!/usr/bin/env bash
# The closed loop: `homeostat demo` plays a bad deploy of checkout; the
# server itself pages (burn-rate alert), opens and escalates an incident,
# calls the rollback webhook, and the demo's people close the incident and
# write the postmortem. Checked through the API once the demo says done.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
# The browser crawl at the end needs these; check before spending minutes.
require_peer node node --version
require_peer npm npm --version
require_peer chromium test -x "${CHROMIUM:-/usr/bin/chromium}"

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

HS_PORT=$(free_port)
BASE="http://127.0.0.1:$HS_PORT"
LOG="$WORK/demo.log"
"$HOMEOSTAT" demo --listen "127.0.0.1:$HS_PORT" --data-dir "$WORK/demo" > "$LOG" 2>&1 &
PIDS+=($!)
DEMO_PID=$!

deadline=$((SECONDS + 480)); done=0
while [ $SECONDS -lt $deadline ]; do
  if grep -q '^demo: scenario complete' "$LOG"; then done=1; break; fi
  if ! kill -0 "$DEMO_PID" 2>/dev/null; then break; fi
  if grep -q "did not happen within its deadline" "$LOG"; then break; fi
  sleep 2
done
echo "--- demo output"; grep -v '^\s*$' "$LOG" | grep -E '^(demo|console)' || true
if [ $done = 1 ]; then ok "the scenario completed end to end in ${SECONDS}s"; else
  bad "the scenario did not complete within 480 s"; tail -n 40 "$LOG"; fi

ID=$(sed -n 's/^demo: scenario complete — \(INC-[0-9]*\):.*/\1/p' "$LOG" | head -1)
ID=${ID:-INC-1}
curl -fsS "$BASE/api/v1/incidents/$ID" > "$WORK/incident.json" || echo '{}' > "$WORK/incident.json"
timeline_has() { # KIND [TEXT]
  python3 - "$WORK/incident.json" "$1" "${2:-}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])).get("data", {})
kind, text = sys.argv[2], sys.argv[3]
sys.exit(0 if any(e["kind"] == kind and text in e["summary"] for e in d.get("timeline", [])) else 1)
PY
}
check "$ID: the page alert firing is on the timeline" timeline_has alert_firing CheckoutAvailability
check "$ID: the escalation to level 2 is on the timeline" timeline_has escalated "level 2"
# The guardrails may call the rollback seconds before the Alertmanager flush
# opens the incident; the incident then records it at its own time on open.
check "$ID: the automatic rollback is on the timeline" timeline_has rollback "automatic rollback of checkout v1.1.0 (called)"
check "$ID: the resolution is on the timeline" timeline_has state_changed resolved
check "$ID: it is resolved, with checkout as its service" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["data"]
assert d["state"] == "resolved" and d["service"] == "checkout", (d["state"], d["service"])' "$WORK/incident.json"
check "the bad deploy shows the rollback" bash -c "curl -fsS '$BASE/api/v1/deploys?service=checkout' | python3 -c '
import json, sys
d = [x for x in json.load(sys.stdin)[\"data\"] if x[\"version\"] == \"v1.1.0\"][0]
assert d[\"outcome\"] == \"rolled_back\" and d[\"rollback\"][\"ok\"] is True, d
assert \"page-tier burn alert CheckoutAvailability\" in d[\"rollback\"][\"reason\"], d'"
curl -fsS "$BASE/api/v1/incidents/$ID/postmortem" > "$WORK/pm.md" || true
for want in "CheckoutAvailability" "automatic rollback of checkout v1.1.0" "escalated to level 2: bob" "checkout | v1.1.0 | dana" "Canary checkout deploys" "Summary:"; do
  check "the postmortem has: $want" grep -q "$want" "$WORK/pm.md"
done
RECEIVER=$(sed -n 's/^demo: rollback receiver \(http[^ ]*\)$/\1/p' "$LOG" | head -1)
check "the rollback webhook was called exactly once" bash -c "curl -fsS '$RECEIVER' | grep -q '\"rollbacks\":1'"

# The console on the demo's data, in headless Chromium: every page loads
# without console errors or broken links, the incident page shows the
# timeline with the rollback, screenshots for people to look at.
if [ $done = 1 ]; then
  if (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error > "$WORK/npm.log" 2>&1); then
    mkdir -p target/screenshots
    if timeout 600 node tests/browser/crawl.mjs --base "$BASE" --out target/screenshots \
        --incident "$ID" --incident-expect "automatic rollback" --incident-expect "escalated"; then
      ok "browser crawl of the console on the demo's data (screenshots in target/screenshots/)"
    else bad "browser crawl of the console on the demo's data"; fi
  else bad "npm ci in tests/browser"; cat "$WORK/npm.log"; fi
fi

kill "$DEMO_PID" 2>/dev/null || true
if [ "$failed" -gt 0 ]; then echo "--- postmortem"; head -c 3000 "$WORK/pm.md"; echo "--- log tail"; tail -n 30 "$LOG"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
