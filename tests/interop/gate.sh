#!/usr/bin/env bash
# The gate from a pipeline's point of view: a service 10x over its
# budget is frozen, so `homeostat gate check` exits 1 for a normal change
# and 0 for a rollback, with one line why; `homeostat deploy record`
# records a deploy; a bad policy stops the server at start naming the field.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }

HS_PORT=$(free_port)
URL="http://127.0.0.1:$HS_PORT"
export HOMEOSTAT_URL=$URL
cp tests/slo/checkout.yaml "$WORK/checkout.yaml"
write_config() { # THRESHOLD
  cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
slo_files: [checkout.yaml]
gate:
  policies:
    - {service: checkout, freeze_below_remaining_percent: $1}
YAML
}

write_config 120
if out=$("$HOMEOSTAT" serve --config "$WORK/homeostat.yaml" --listen "127.0.0.1:$HS_PORT" --data-dir "$WORK/bad" 2>&1); then
  bad "a threshold of 120% is refused at start"
elif grep -q 'gate.policies\[0\].freeze_below_remaining_percent' <<<"$out" && grep -q '120 is outside 0..100' <<<"$out"; then
  ok "a threshold of 120% is refused at start, naming the field"
else
  bad "threshold error message: $out"
fi

write_config 10
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"
# Two hours at 1% errors against 99.9%: the budget is overspent.
python3 - "$URL/api/v1/write" <<'PY'
import sys, time
sys.path.insert(0, "tests/interop")
from promgen import push
url = sys.argv[1]
now = int(time.time() * 1000) // 60_000 * 60_000
start = now - 120 * 60_000
ok = bad = 0.0
ok_s, bad_s = [], []
for m in range(121):
    if m:
        ok += 990; bad += 10
    ok_s.append((start + m * 60_000, ok)); bad_s.append((start + m * 60_000, bad))
base = {"__name__": "http_requests_total", "job": "checkout"}
push(url, [(dict(base, code="200"), ok_s), (dict(base, code="500"), bad_s)])
PY

if out=$("$HOMEOSTAT" gate check --service checkout); then
  bad "a normal change is denied (exit 0: $out)"
elif grep -q '^denied: checkout-availability has exhausted its error budget (spent [0-9.]*× the budget)$' <<<"$out"; then
  ok "a normal change is denied, exit 1: $out"
else
  bad "deny message: $out"
fi
if out=$("$HOMEOSTAT" gate check --service checkout --change-type rollback); then
  ok "a rollback is allowed, exit 0: ${out:0:80}…"
else
  bad "a rollback is allowed: $out"
fi
if curl -fsS "$URL/api/v1/gate?service=checkout" | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
assert d["allow"] is False and d["frozen"] is True and d["threshold"] == 0.1, d
assert d["slos"][0]["id"] == "checkout-availability" and d["slos"][0]["remaining"] < 0, d'
then ok "GET /api/v1/gate gives the numbers"; else bad "GET /api/v1/gate"; fi
if out=$("$HOMEOSTAT" deploy record --service checkout --version 1.4.2 --commit abc123 --change-type rollback) && grep -q '^deploy 1 recorded: checkout 1.4.2 (in_progress)$' <<<"$out"; then
  ok "deploy record: $out"
else
  bad "deploy record: ${out:-}"
fi
if "$HOMEOSTAT" deploy list --service checkout | grep -q '1.4.2'; then ok "deploy list shows it"; else bad "deploy list"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
