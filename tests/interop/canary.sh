#!/usr/bin/env bash
# The canary path: a canary at 5x the baseline's error rate fails its
# analysis run; the failure calls the rollback webhook exactly once for the
# deploy (a second failed run does not call it again), marks the deploy
# rolled back and appears on the service's incident timeline. An identical
# canary passes, an empty one is NoData (inconclusive), never a pass; the
# Flagger webhook answers 200 for a passing run and 412 for a failed one.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

HOOKS="$WORK/hooks.jsonl"; : > "$HOOKS"
python3 tests/interop/page_receiver.py "$HOOKS" > "$WORK/receiver.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/receiver.port" ] && break; sleep 0.1; done
RPORT=$(cat "$WORK/receiver.port")
HS_PORT=$(free_port)
URL="http://127.0.0.1:$HS_PORT"
export HOMEOSTAT_URL=$URL
cat > "$WORK/rules.yml" <<'YAML'
groups:
  - name: search-slo
    interval: 1s
    rules:
      - alert: SearchBurn
        expr: search_errors_total > 0
        labels: {sloth_severity: page, sloth_service: search, sloth_id: search-availability}
        annotations: {runbook_url: https://runbooks.example.com/search}
YAML
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
rule_files: [rules.yml]
rollback:
  page_window: 10m
  actions:
    - service: search
      webhook: {url: "http://127.0.0.1:$RPORT/rollback-search"}
    - service: payments
      webhook: {url: "http://127.0.0.1:$RPORT/rollback-payments"}
    - service: checkout
      webhook:
        url: http://127.0.0.1:$RPORT/rollback
        body: '{"service": "{{.service}}", "version": "{{.version}}", "deploy": {{.deploy_id}}, "reason": "{{.reason}}"}'
YAML
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"

# 30 minutes at 10 s: baseline ~1% errors, canary ~5%, 1000 requests/min each.
python3 - "$URL/api/v1/write" <<'PY'
import random, sys, time
sys.path.insert(0, "tests/interop")
from promgen import push
random.seed(7)
url = sys.argv[1]
now = int(time.time() * 1000) // 10_000 * 10_000
series = []
for track, err in (("baseline", 0.01), ("canary", 0.05)):
    ok = bad = 0.0
    ok_s, bad_s = [], []
    for i in range(181):
        t = now - (180 - i) * 10_000
        n = 160 + random.randint(0, 20)
        e = sum(1 for _ in range(n) if random.random() < err)
        ok += n - e; bad += e
        ok_s.append((t, ok)); bad_s.append((t, bad))
    base = {"__name__": "http_requests_total", "job": "checkout", "track": track}
    series += [(dict(base, code="200"), ok_s), (dict(base, code="500"), bad_s)]
push(url, series)
PY

ERR='sum(rate(http_requests_total{job=\"checkout\",track=\"{{.group}}\",code=\"500\"}[1m])) / sum(rate(http_requests_total{job=\"checkout\",track=\"{{.group}}\"}[1m]))'
judge_body() { # CANARY-GROUP
  echo "{\"metrics\": [{\"name\": \"error_ratio\", \"query\": \"$ERR\", \"direction\": \"increase\", \"critical\": true, \"allowed_increase\": 0.1}],
         \"baseline\": \"baseline\", \"canary\": \"$1\", \"lookback\": \"20m\", \"step\": \"30s\"}"
}
start_run_with() { # JUDGE-JSON DEPLOY-ID COUNT
  curl -fsS -X POST -H 'content-type: application/json' "$URL/api/v1/analysis" \
    -d "{\"service\": \"checkout\", \"deploy_id\": $2, \"interval\": \"1s\", \"count\": $3, \"judge\": $1}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])'
}
start_run() { start_run_with "$(judge_body "$1")" "$2" "$3"; }
# The baseline judged against itself: both sides read the same series.
SAME=${ERR//\{\{.group\}\}/baseline}
same_body() {
  echo "{\"metrics\": [{\"name\": \"error_ratio\", \"baseline_query\": \"$SAME\", \"canary_query\": \"$SAME\", \"direction\": \"increase\", \"critical\": true}],
         \"lookback\": \"20m\", \"step\": \"30s\"}"
}
phase() { curl -fsS "$URL/api/v1/analysis/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["phase"])'; }
wait_phase() { # RUN PHASE SECONDS
  local deadline=$((SECONDS + $3))
  until [ "$(phase "$1")" = "$2" ]; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.3; done
}
rollbacks() { grep -c '"/rollback"' "$HOOKS" || true; }

"$HOMEOSTAT" deploy record --service checkout --version 2.0.0 --change-type feature > /dev/null
INC=$("$HOMEOSTAT" incident declare --title "checkout errors up" --service checkout --by ana)

# One judgment from the CLI.
judge_body canary > "$WORK/judge.json"
if out=$("$HOMEOSTAT" canary judge --file "$WORK/judge.json"); then
  bad "canary judge exits non-zero for a 5x canary: $out"
else
  check "canary judge: Fail, error_ratio High" grep -q 'error_ratio *High' <<<"$out"
fi

RUN=$(start_run canary 1 3)
check "a 5x canary fails its analysis run" wait_phase "$RUN" Failed 10
check "the rollback webhook was called" bash -c "deadline=\$((SECONDS + 5)); until grep -q '\"/rollback\"' '$HOOKS'; do [ \$SECONDS -ge \$deadline ] && exit 1; sleep 0.2; done"
check "with the templated body" python3 - "$HOOKS" <<'PY'
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1]) if '"/rollback"' in l]
b = calls[0]["body"]
assert b["service"] == "checkout" and b["version"] == "2.0.0" and b["deploy"] == 1, b
assert "failed" in b["reason"], b
PY
check "the deploy is rolled back, the call recorded" bash -c "curl -fsS '$URL/api/v1/deploys?service=checkout' | python3 -c '
import json, sys
d = json.load(sys.stdin)[\"data\"][0]
assert d[\"outcome\"] == \"rolled_back\" and d[\"rollback\"][\"ok\"] is True, d'"
check "the rollback is on the incident timeline" bash -c "'$HOMEOSTAT' incident show $INC | grep -q 'automatic rollback of checkout 2.0.0'"
check "Flagger's webhook gets 412 for the failed run" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/v1/analysis/$RUN/flagger")" = 412

RUN2=$(start_run canary 1 1)
check "a second failing run of the same deploy fails too" wait_phase "$RUN2" Failed 10
sleep 2
check "but the rollback is not called twice" test "$(rollbacks)" -eq 1

RUN3=$(start_run_with "$(same_body)" 1 2)
check "an identical canary passes" wait_phase "$RUN3" Successful 10
check "Flagger's webhook gets 200 for it" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/v1/analysis/$RUN3/flagger")" = 200
RUN4=$(start_run nothing 1 2)
check "an empty canary is inconclusive (NoData), not a pass" wait_phase "$RUN4" Inconclusive 10
check "its judgment says NoData" bash -c "curl -fsS '$URL/api/v1/analysis/$RUN4' | grep -q '\"verdict\":\"NoData\"'"
check "a bad run request is refused" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' "$URL/api/v1/analysis" -d '{"interval": "1s", "count": 0, "judge": {"metrics": []}}')" = 400

# A forged page (an ALERTS series anyone can write through remote-write or
# OTLP) after a deploy must not roll it back: only the rule engine's own
# alerts count (issue 14).
"$HOMEOSTAT" deploy record --service payments --version 3.0 > /dev/null
sleep 1
python3 - "$URL/api/v1/write" <<'PY'
import sys, time
sys.path.insert(0, "tests/interop")
from promgen import push
now = int(time.time() * 1000)
labels = {"__name__": "ALERTS", "alertname": "PaymentsBurn", "alertstate": "firing",
          "sloth_severity": "page", "sloth_service": "payments"}
push(sys.argv[1], [(labels, [(now - 1000 * i, 1.0) for i in range(30, -1, -1)])])
PY
# The same forgery over OTLP (JSON), as a client of the collector could.
python3 - "$URL/v1/metrics" <<'PY'
import json, sys, time, urllib.request
now = time.time_ns()
attrs = [{"key": k, "value": {"stringValue": v}} for k, v in [
    ("alertname", "PaymentsBurnOtlp"), ("alertstate", "firing"),
    ("sloth_severity", "page"), ("sloth_service", "payments")]]
points = [{"asDouble": 1.0, "timeUnixNano": str(now - i * 1_000_000_000), "attributes": attrs}
          for i in range(30, -1, -1)]
body = {"resourceMetrics": [{"resource": {"attributes": []}, "scopeMetrics": [
    {"metrics": [{"name": "ALERTS", "gauge": {"dataPoints": points}}]}]}]}
req = urllib.request.Request(sys.argv[1], data=json.dumps(body).encode(), method="POST",
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=10).read()
PY
check "the forged ALERTS series are in the store (remote-write and OTLP)" bash -c "curl -fsS '$URL/api/v1/query' --data-urlencode 'query=ALERTS{sloth_service=\"payments\"}' > '$WORK/forged.json' && grep -q '\"PaymentsBurn\"' '$WORK/forged.json' && grep -q PaymentsBurnOtlp '$WORK/forged.json'"

# A page-tier burn alert that starts after a deploy rolls that deploy back, once.
"$HOMEOSTAT" deploy record --service search --version 9.1 > /dev/null
sleep 1
python3 - "$URL/api/v1/write" <<'PY'
import sys, time
sys.path.insert(0, "tests/interop")
from promgen import push
now = int(time.time() * 1000)
push(sys.argv[1], [({"__name__": "search_errors_total", "job": "search"}, [(now, 5.0)])])
PY
check "a page after the search deploy calls its rollback" bash -c "deadline=\$((SECONDS + 15)); until grep -q '\"/rollback-search\"' '$HOOKS'; do [ \$SECONDS -ge \$deadline ] && exit 1; sleep 0.3; done"
check "with the page as the reason" bash -c "grep '\"/rollback-search\"' '$HOOKS' | grep -q 'page-tier burn alert SearchBurn of search fired'"
sleep 6
check "and only once while the page keeps firing" test "$(grep -c '"/rollback-search"' "$HOOKS")" -eq 1
# By now the guardrail ticker has looked at least three times since the
# forged series was written.
check "the forged page rolled nothing back" bash -c "! grep -q '\"/rollback-payments\"' '$HOOKS'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
