#!/usr/bin/env bash
# Two replicas sharing PostgreSQL, one leading. Five rounds of: declare an
# incident whose escalation pages alice now and bob 20 s later, start a
# canary analysis run on the leader, post three alert groups to the
# FOLLOWER, then `kill -9` the leader inside group_wait. Each round shows:
# the follower leads within 15 s; every group is notified exactly once; bob
# is paged by the new leader at his scheduled time (±2 s) and alice not
# again; the analysis run finishes on the new leader. The killed replica
# then restarts as a follower for the next round.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
source tests/interop/pg.bash
require_peer curl command -v curl

PASS=0; FAIL=0
ok() { echo "ok: $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL: $1"; FAIL=$((FAIL + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

start_pg >/dev/null || { echo "FAIL: PostgreSQL did not start"; echo "0 passed, 1 failed"; exit 1; }

HOOKS="$WORK/hooks.jsonl"; : > "$HOOKS"
python3 tests/interop/page_receiver.py "$HOOKS" > "$WORK/receiver.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/receiver.port" ] && break; sleep 0.1; done
RPORT=$(cat "$WORK/receiver.port")

cat > "$WORK/alertmanager.yml" <<YAML
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 8s
  group_interval: 4s
  repeat_interval: 1h
receivers:
  - name: pager
    webhook_configs: [{url: 'http://127.0.0.1:$RPORT/pager'}]
YAML
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
state: {backend: postgres, dsn: "$PG_DSN", pool_size: 4}
alertmanager: {config_file: alertmanager.yml}
oncall:
  users:
    - {id: alice, webhook_url: "http://127.0.0.1:$RPORT/alice"}
    - {id: bob, webhook_url: "http://127.0.0.1:$RPORT/bob"}
  escalation_policies:
    - id: ops
      repeat: 0
      levels:
        - {delay: 20s, targets: [{user: alice}]}
        - {delay: 1h, targets: [{user: bob}]}
YAML

declare -A PORT PID
PORT[a]=$(free_port); PORT[b]=$(free_port)
url() { echo "http://127.0.0.1:${PORT[$1]}"; }
serve() { # NAME
  "$HOMEOSTAT" serve --config "$WORK/homeostat.yaml" --listen "127.0.0.1:${PORT[$1]}" \
    --data-dir "$WORK/data-$1" >> "$WORK/$1.log" 2>&1 &
  PID[$1]=$!; PIDS+=($!)
  wait_http "$(url "$1")/-/ready" 30 || { tail -20 "$WORK/$1.log"; return 1; }
}
role() { # NAME → leader | follower | (empty when down)
  curl -fsS -m 2 "$(url "$1")/api/v1/status/cluster" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["self"]["role"])' 2>/dev/null
}
leader() { for n in a b; do [ "$(role "$n")" = leader ] && { echo "$n"; return 0; }; done; return 1; }
other() { [ "$1" = a ] && echo b || echo a; }
wait_leader() { # SECONDS → name
  local deadline=$((SECONDS + $1)) l
  until l=$(leader); do [ $SECONDS -ge $deadline ] && return 1; sleep 0.2; done
  echo "$l"
}

serve a || exit 1
serve b || exit 1
L=$(wait_leader 15) || { echo "FAIL: no leader"; tail -20 "$WORK/a.log" "$WORK/b.log"; exit 1; }
check "one leader, one follower" test "$(role "$(other "$L")")" = follower
check "status/cluster lists both members, the leader marked" bash -c "curl -fsS '$(url a)/api/v1/status/cluster' | python3 -c '
import json, sys
d = json.load(sys.stdin)[\"data\"]
assert d[\"enabled\"] and len(d[\"members\"]) == 2, d
assert [m[\"leader\"] for m in d[\"members\"]].count(True) == 1, d
assert d[\"lease\"][\"token\"] >= 1, d'"
check "Alertmanager's status shows the cluster ready with two peers" bash -c "curl -fsS '$(url b)/api/v2/status' | python3 -c '
import json, sys
c = json.load(sys.stdin)[\"cluster\"]
assert c[\"status\"] == \"ready\" and len(c[\"peers\"]) == 2, c'"
check "homeostat_leader is 1 on the leader only" bash -c "
  curl -fsS '$(url "$L")/metrics' | grep -x 'homeostat_leader 1' >/dev/null &&
  curl -fsS '$(url "$(other "$L")")/metrics' | grep -x 'homeostat_leader 0' >/dev/null"

# A silence set through the follower mutes the leader's notifications.
SIL_START=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ); SIL_END=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
curl -fsS -o /dev/null -H 'Content-Type: application/json' "$(url "$(other "$L")")/api/v2/silences" \
  -d "{\"matchers\": [{\"name\": \"alertname\", \"value\": \"Muted\", \"isRegex\": false, \"isEqual\": true}], \"startsAt\": \"$SIL_START\", \"endsAt\": \"$SIL_END\", \"createdBy\": \"interop\", \"comment\": \"ha\"}"
sleep 2
curl -fsS -o /dev/null -H 'Content-Type: application/json' "$(url "$(other "$L")")/api/v2/alerts" \
  -d "[{\"labels\": {\"alertname\": \"Muted\"}}, {\"labels\": {\"alertname\": \"Loud\"}}]"
deadline=$((SECONDS + 15))
until grep -q '"Loud"' "$HOOKS" || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
sleep 1
check "a silence set through the follower mutes the leader's notification" bash -c "grep -q '\"Loud\"' '$HOOKS' && ! grep -q '\"Muted\"' '$HOOKS'"

# The canary judge reads constant series on both sides: a pass, from any replica's store.
JUDGE='{"metrics": [{"name": "ok", "baseline_query": "vector(1)", "canary_query": "vector(1)", "direction": "increase", "critical": true}], "lookback": "2m", "step": "15s"}'

hooks_of() { # PATH-REGEX → count
  python3 - "$HOOKS" "$1" <<'PY'
import json, re, sys
print(sum(1 for l in open(sys.argv[1]) if re.fullmatch(sys.argv[2], json.loads(l)["path"])))
PY
}

for round in 1 2 3 4 5; do
  echo "== round $round: leader $L"
  F=$(other "$L")
  T0=$(python3 -c 'import time; print(time.time())')
  INC=$(curl -fsS -H 'Content-Type: application/json' "$(url "$L")/api/v1/incidents" \
    -d "{\"title\": \"round $round\", \"severity\": \"sev2\", \"escalation_policy\": \"ops\", \"by\": \"interop\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
  RUN=$(curl -fsS -H 'Content-Type: application/json' "$(url "$L")/api/v1/analysis" \
    -d "{\"interval\": \"4s\", \"count\": 6, \"judge\": $JUDGE}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
  STARTS=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  curl -fsS -o /dev/null -H 'Content-Type: application/json' "$(url "$F")/api/v2/alerts" -d "[
    {\"labels\": {\"alertname\": \"R${round}A\", \"severity\": \"page\"}, \"startsAt\": \"$STARTS\"},
    {\"labels\": {\"alertname\": \"R${round}B\", \"severity\": \"page\"}, \"startsAt\": \"$STARTS\"},
    {\"labels\": {\"alertname\": \"R${round}C\", \"severity\": \"page\"}, \"startsAt\": \"$STARTS\"}]"
  if [ "$round" = 1 ]; then
    check "a follower answers for the leader's analysis run" bash -c "
      deadline=\$((SECONDS + 8))
      until curl -fsS '$(url "$F")/api/v1/analysis/$RUN' >/dev/null 2>&1; do
        [ \$SECONDS -ge \$deadline ] && exit 1; sleep 0.5; done"
  fi
  # alice's page from the leader, then the kill inside group_wait (8 s).
  deadline=$((SECONDS + 3))
  until [ "$(hooks_of "/alice")" -ge "$round" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
  sleep 2
  KILLED_AT=$(python3 -c 'import time; print(time.time())')
  kill -9 "${PID[$L]}"
  wait "${PID[$L]}" 2>/dev/null
  deadline=$((SECONDS + 20))
  until [ "$(role "$F")" = leader ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
  LED_AT=$(python3 -c 'import time; print(time.time())')
  FAILOVER=$(python3 -c "print(round($LED_AT - $KILLED_AT, 1))")
  check "round $round: the follower leads ${FAILOVER}s after kill -9 (< 15 s)" python3 -c "assert $FAILOVER < 15"
  # Wait past bob's page (T0 + 20 s) and the run's end (T0 + 24 s), plus
  # several group intervals on the new leader.
  python3 -c "import time; time.sleep(max(0, $T0 + 30 - time.time()))"
  check "round $round: every group notified exactly once" python3 - "$HOOKS" "$round" <<'PY'
import json, sys
r = sys.argv[2]
seen = {}
for l in open(sys.argv[1]):
    h = json.loads(l)
    if h["path"] != "/pager":
        continue
    for a in h["body"]["alerts"]:
        n = a["labels"]["alertname"]
        if n.startswith(f"R{r}"):
            seen[n] = seen.get(n, 0) + 1
assert seen == {f"R{r}A": 1, f"R{r}B": 1, f"R{r}C": 1}, seen
PY
  check "round $round: bob paged once by the new leader at T0+20s (±2 s), alice not again" python3 - "$HOOKS" "$round" "$T0" <<'PY'
import json, sys
r, t0 = int(sys.argv[2]), float(sys.argv[3])
hooks = [json.loads(l) for l in open(sys.argv[1])]
alice = [h for h in hooks if h["path"] == "/alice"]
bob = [h for h in hooks if h["path"] == "/bob" and h["t"] >= t0]
assert len(alice) == r, f"alice paged {len(alice)} times after {r} rounds"
assert len(bob) == 1, f"bob paged {len(bob)} times this round"
late = bob[0]["t"] - (t0 + 20)
assert abs(late) <= 2, f"bob paged {late:+.1f}s off schedule"
print(f"bob paged {late:+.1f}s from schedule")
PY
  check "round $round: the analysis run started on the old leader finished on the new one" bash -c "
    curl -fsS '$(url "$F")/api/v1/analysis/$RUN' | python3 -c '
import json, sys
d = json.load(sys.stdin)[\"data\"]
assert d[\"phase\"] == \"Successful\", d[\"phase\"]
assert len(d[\"measurements\"]) == 6, len(d[\"measurements\"])'"
  curl -fsS -o /dev/null -H 'Content-Type: application/json' -X POST \
    "$(url "$F")/api/v1/incidents/$INC/resolve" -d '{"by": "interop"}' || true
  # The killed replica comes back as a follower.
  serve "$L" || { bad "round $round: the killed replica restarts"; break; }
  check "round $round: the restarted replica follows" test "$(role "$L")" = follower
  L=$F
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
