#!/usr/bin/env bash
# The paging path end to end against the release binary: an incident
# declared with an escalation policy pages its level-1 user's webhook at
# once and, unacknowledged, the level-2 user after the level's 3s delay
# (not before); the signed link in the page acknowledges it (GET confirms,
# POST acts) and paging stops; an escalation survives a restart; a bad
# reload keeps the running on-call config; the postmortem (API and
# `homeostat incident postmortem`) lists the declaration, the escalations,
# the ack and the resolution. Alerts reaching incidents through the
# Alertmanager dispatcher are checked by the dispatcher's own script.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer python3 python3 -c 'import http.server'

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { # NAME COMMAND...
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

PAGES="$WORK/pages.jsonl"
: > "$PAGES"
python3 tests/interop/page_receiver.py "$PAGES" > "$WORK/receiver.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/receiver.port" ] && break; sleep 0.1; done
RPORT=$(cat "$WORK/receiver.port")

HS_PORT=$(free_port)
URL="http://127.0.0.1:$HS_PORT"
export HOMEOSTAT_URL=$URL
write_config() { # POLICY-ID-FOR-DEFAULT
  cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
rule_files: [rules.yml]
oncall:
  users:
    - {id: alice, webhook_url: "http://127.0.0.1:$RPORT/alice"}
    - {id: bob, webhook_url: "http://127.0.0.1:$RPORT/bob"}
  schedules:
    - id: primary
      layers:
        - {name: daily, rotation_start: 2024-01-01T09:00:00Z, turn_length: 1d, members: [alice]}
  escalation_policies:
    - id: ops
      repeat: 2
      levels:
        - {delay: 3s, targets: [{schedule: primary}, {user: alice}]}
        - {delay: 3s, targets: [{user: bob}]}
incidents:
  default_escalation_policy: $1
YAML
}
write_config ops
cat > "$WORK/rules.yml" <<'YAML'
groups:
  - name: checkout
    rules:
      - alert: CheckoutDown
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: checkout is down, runbook_url: "https://runbooks.example.com/checkout"}
YAML

# --- config errors: clear at start, and a bad reload keeps the running config
write_config nope
if out=$("$HOMEOSTAT" serve --config "$WORK/homeostat.yaml" --listen "127.0.0.1:$HS_PORT" --data-dir "$WORK/bad" 2>&1); then
  bad "a config naming an unknown escalation policy is refused at start"
else
  check "a config naming an unknown escalation policy is refused at start" \
    grep -q 'incidents.default_escalation_policy.*unknown escalation policy "nope"' <<<"$out"
fi
write_config ops
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"

# --- lint: the paging rule has a runbook; one without is flagged
check "alerts lint passes a paging rule with a runbook_url" "$HOMEOSTAT" alerts lint --config "$WORK/homeostat.yaml"
sed '/annotations/d' "$WORK/rules.yml" > "$WORK/norunbook.yml"
if out=$("$HOMEOSTAT" alerts lint "$WORK/norunbook.yml"); then
  bad "alerts lint flags a paging rule without runbook_url (exit 0)"
else
  check "alerts lint flags a paging rule without runbook_url" \
    grep -q 'group "checkout": alert "CheckoutDown": paging alert without a runbook_url annotation' <<<"$out"
fi

pages_for() { grep -c "\"/$1\"" "$PAGES" || true; }
wait_pages() { # USER COUNT SECONDS
  local deadline=$((SECONDS + $3))
  while [ "$(pages_for "$1")" -lt "$2" ]; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.1
  done
}

# --- declare with a policy: level 1 at once, level 2 after 3s, not before
ID=$("$HOMEOSTAT" incident declare --title "checkout is down" --service checkout --commander carol --escalation-policy ops --by carol)
check "declare answers INC-1" test "$ID" = INC-1
check "the level-1 user is paged at once" wait_pages alice 1 3
sleep 1.5
check "the level-2 user is not paged before the delay" test "$(pages_for bob)" -eq 0
check "the level-2 user is paged after the delay" wait_pages bob 1 4
check "level 2 came 3s (±0.6s) after level 1" python3 - "$PAGES" <<'PY'
import json, sys
pages = [json.loads(l) for l in open(sys.argv[1])]
a = next(p for p in pages if p["path"] == "/alice")
b = next(p for p in pages if p["path"] == "/bob")
gap = b["t"] - a["t"]
print(f"  level 1 -> level 2: {gap:.2f}s; page: {json.dumps(b['body'])[:160]}...")
assert 2.4 <= gap <= 3.8, gap
assert (a["body"]["level"], b["body"]["level"]) == (1, 2)
assert b["body"]["incident"] == "INC-1" and "token=" in b["body"]["ackUrl"]
PY
check "alice was paged once for level 1 (schedule and user target deduplicated)" test "$(pages_for alice)" -eq 1

# --- ack through the link in bob's page
ACK=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "/bob" in l][0]["body"]["ackUrl"])' "$PAGES")
check "a forged link is refused" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "${ACK%%token=*}token=00&user=bob")" = 403
check "GET on the link only shows a confirmation" bash -c "curl -fsS '$ACK' | grep -q '<form method=\"post\"' && curl -fsS '$URL/api/v1/incidents/INC-1' | grep -q '\"state\":\"triggered\"'"
check "POST on the link acknowledges as bob" bash -c "curl -fsS -X POST '$ACK' | grep -q '\"state\":\"acknowledged\"'"
check "the link works once: a second POST is refused" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$ACK")" = 403
before=$(wc -l < "$PAGES")
sleep 4
check "no more pages after the ack (round 2 was due at 6s)" test "$(wc -l < "$PAGES")" -eq "$before"

# --- the CLI and the on-call API
check "incident list shows it acknowledged" bash -c "'$HOMEOSTAT' incident list | grep -q 'INC-1 *acknowledged'"
check "incident show lists the escalations" bash -c "'$HOMEOSTAT' incident show INC-1 | grep -q 'escalated to level 2: bob'"
check "oncall now answers from the server" bash -c "'$HOMEOSTAT' oncall now | grep -qE '^primary +alice'"
check "shifts over more than 90 days are refused" test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/oncall/primary/shifts?from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z")" = 400
check "resolve via the CLI" bash -c "'$HOMEOSTAT' incident resolve INC-1 --by carol | grep -q 'INC-1 resolved'"
check "an illegal step answers 409" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Homeostat-User: carol' "$URL/api/v1/incidents/INC-1/mitigate")" = 409

# --- the postmortem lists declaration, escalations, ack and resolution
curl -fsS "$URL/api/v1/incidents/INC-1/postmortem" > "$WORK/pm.md"
for want in "carol declared INC-1" "escalated to level 1: alice" "escalated to level 2: bob" "bob acknowledged" "carol marked it resolved" "notified page bob"; do
  check "postmortem lists: $want" grep -q "$want" "$WORK/pm.md"
done
"$HOMEOSTAT" incident postmortem INC-1 > "$WORK/pm-cli.md"
check "homeostat incident postmortem prints the same document" cmp -s "$WORK/pm.md" "$WORK/pm-cli.md"

# --- a bad reload keeps the running config
write_config nope
code=$(curl -s -o "$WORK/reload.txt" -w '%{http_code}' -X POST "$URL/-/reload")
check "a reload naming an unknown policy fails with the field" bash -c "[ $code != 200 ] && grep -q 'unknown escalation policy' '$WORK/reload.txt'"
write_config ops

# --- an escalation survives a restart
: > "$PAGES"
ID2=$("$HOMEOSTAT" incident declare --title "db is slow" --escalation-policy ops --by carol)
check "a second incident pages level 1" wait_pages alice 1 3
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"
check "after a restart $ID2 escalates to level 2, not level 1 again" wait_pages bob 1 6
check "level 1 was not paged again after the restart" test "$(pages_for alice)" -eq 1
"$HOMEOSTAT" incident ack "$ID2" --by alice > /dev/null

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
