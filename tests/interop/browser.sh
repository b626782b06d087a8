#!/usr/bin/env bash
# The web console in a real browser: a server with some of everything (an
# SLO over three hours of remote-written traffic, a `services:` entry, an
# on-call schedule and escalation policy, a firing alert in the built-in
# Alertmanager, declared incidents with a deploy and a note on the
# timeline, an incident opened by a paging alert), then
# tests/browser/crawl.mjs drives Debian's headless chromium over every
# console page reachable from `/`: no console errors, no failed requests,
# no broken links, load times, the incident's timeline, the forms' error
# messages, and screenshots in target/screenshots/seeded/; and
# tests/browser/console.mjs checks what the pages show (loading and error
# states, severity badges, escalation policies, the incident's impact).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer node node --version
require_peer npm npm --version
require_peer chromium test -x "${CHROMIUM:-/usr/bin/chromium}"
require_peer python3 python3 -c 'import http.server'

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }

HS_PORT=$(free_port)
URL="http://127.0.0.1:$HS_PORT"
export HOMEOSTAT_URL=$URL
cp tests/slo/checkout.yaml "$WORK/checkout.yaml"
# Pages and paging notifications land here.
HOOK_PORT=$(free_port)
python3 tests/interop/webhook_sink.py "$HOOK_PORT" "$WORK/hooks.jsonl" &
PIDS+=($!)
HOOK="http://127.0.0.1:$HOOK_PORT"
cat > "$WORK/alertmanager.yml" <<YAML
route:
  receiver: team
  group_by: [alertname, service]
  group_wait: 1s
  routes:
    - {receiver: pager, matchers: ['severity="page"']}
receivers:
  - name: team
  - name: pager
    webhook_configs: [{url: "$HOOK/pager"}]
YAML
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: true
slo_files: [checkout.yaml]
services:
  - name: checkout
    selector: 'job="checkout"'
alertmanager: {config_file: alertmanager.yml}
oncall:
  users:
    - {id: alice, webhook_url: "$HOOK/alice"}
    - {id: bob, webhook_url: "$HOOK/bob"}
  schedules:
    - id: primary
      layers:
        - {name: daily, rotation_start: 2024-01-01T09:00:00Z, turn_length: 1d, members: [alice, bob]}
  escalation_policies:
    - id: ops
      repeat: 1
      levels:
        - {delay: 5m, targets: [{schedule: primary}]}
        - {delay: 10m, targets: [{user: bob}]}
incidents:
  default_escalation_policy: ops
YAML
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"

# Three hours of checkout traffic, one sample a minute: 1000 requests a
# minute, 1% errors for the last two hours, with a latency histogram.
python3 - "$URL/api/v1/write" <<'PY'
import sys, time
sys.path.insert(0, "tests/interop")
from promgen import push
url = sys.argv[1]
now = int(time.time() * 1000) // 60_000 * 60_000
start = now - 180 * 60_000
les = [("0.05", 0.5), ("0.1", 0.8), ("0.25", 0.95), ("0.5", 0.99), ("+Inf", 1.0)]
ok = bad = 0.0
series = {}
def add(labels, t, v):
    series.setdefault(tuple(sorted(labels.items())), []).append((t, v))
for m in range(181):
    t = start + m * 60_000
    if m > 60:
        ok += 990; bad += 10
    elif m > 0:
        ok += 1000
    base = {"job": "checkout", "instance": "checkout-1:8080"}
    add(dict(base, __name__="http_requests_total", code="200"), t, ok)
    add(dict(base, __name__="http_requests_total", code="500"), t, bad)
    for le, frac in les:
        add(dict(base, __name__="http_request_duration_seconds_bucket", le=le, code="200"), t, ok * frac)
    add(dict(base, __name__="http_request_duration_seconds_count", code="200"), t, ok)
    add(dict(base, __name__="http_request_duration_seconds_sum", code="200"), t, ok * 0.07)
push(url, [(dict(k), v) for k, v in series.items()])
PY

post_json() { curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' "$URL$1" -d "$2"; }
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# A firing alert in the built-in Alertmanager (its severity does not page,
# so it opens no incident of its own).
post_json /api/v2/alerts "[{\"labels\": {\"alertname\": \"CheckoutSlow\", \"service\": \"checkout\", \"severity\": \"ticket\"},
  \"annotations\": {\"summary\": \"checkout p99 above 500ms\", \"runbook_url\": \"javascript:alert(1)\"}, \"startsAt\": \"$NOW\"}]"
# INC-1, declared by hand, with a deploy and a note on its timeline, then
# mitigated; INC-2 stays open.
post_json /api/v1/incidents '{"title": "checkout answers 5xx", "severity": "sev2", "service": "checkout", "by": "alice"}'
"$HOMEOSTAT" deploy record --service checkout --version 1.4.2 --commit abc123 > /dev/null
post_json /api/v1/incidents/INC-1/notes '{"text": "rolling back 1.4.2", "by": "alice"}'
post_json /api/v1/incidents/INC-1/action_items '{"title": "alert on checkout p99", "owner": "bob"}'
post_json /api/v1/incidents/INC-1/ack '{"by": "alice"}'
post_json /api/v1/incidents/INC-1/mitigate '{"by": "alice"}'
post_json /api/v1/incidents '{"title": "search is slow", "severity": "sev3", "service": "search", "by": "bob"}'
# Three more deploys within seconds: their chart labels must not overlap.
for v in 1.4.3 1.4.4-rc.1 1.4.5; do
  "$HOMEOSTAT" deploy record --service checkout --version "$v" > /dev/null
done
# INC-3, opened by a paging alert of the checkout SLO ten minutes ago: its
# page shows the group key, times with seconds and the impact chart.
TEN_MIN_AGO=$(date -u -d '-10 min' +%Y-%m-%dT%H:%M:%SZ)
post_json /api/v2/alerts "[{\"labels\": {\"alertname\": \"CheckoutAvailability\", \"service\": \"checkout\", \"severity\": \"page\",
  \"sloth_id\": \"checkout-availability\", \"sloth_service\": \"checkout\", \"sloth_slo\": \"availability\"},
  \"annotations\": {\"summary\": \"checkout is burning its error budget\"}, \"startsAt\": \"$TEN_MIN_AGO\"}]"
for _ in $(seq 100); do curl -fsS -o /dev/null "$URL/api/v1/incidents/INC-3" 2>/dev/null && break; sleep 0.2; done
# Let the rule engine record the SLO and golden-signal series once.
sleep 2

# The browser rules over the wire (crates/http/src/browser.rs): security
# headers, a foreign Host (DNS rebinding) and a cross-origin POST refused.
hdrs=$(curl -sS -D - -o /dev/null "$URL/console/alerts")
if grep -qi "^content-security-policy: default-src 'self'; script-src 'self'" <<<"$hdrs" \
    && grep -qi '^x-frame-options: DENY' <<<"$hdrs" && grep -qi '^x-content-type-options: nosniff' <<<"$hdrs"; then
  ok "the console is served with CSP, X-Frame-Options and nosniff"
else bad "security headers missing: $hdrs"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: rebind.attacker.example' "$URL/api/v1/incidents")
[ "$code" = 403 ] && ok "a foreign Host is refused" || bad "a foreign Host answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H 'Origin: https://evil.example' \
  "$URL/api/v1/incidents" -d '{"title": "csrf", "severity": "sev3", "by": "mallory"}')
[ "$code" = 403 ] && ok "a cross-origin POST is refused" || bad "a cross-origin POST answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' \
  "$URL/api/v1/incidents" -d '{"title": "csrf", "severity": "sev3", "by": "mallory"}')
[ "$code" = 415 ] && ok "a text/plain POST to a JSON API answers 415" || bad "a text/plain POST answered $code"

if ! (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error > "$WORK/npm.log" 2>&1); then
  cat "$WORK/npm.log"
  bad "npm ci in tests/browser"
  echo "$passed passed, $failed failed"
  exit 1
fi
ok "npm ci in tests/browser"

# The crawler itself: over a tiny site with one of every problem it must
# report each kind and fail, or a clean crawl would prove nothing.
python3 tests/browser/broken_site.py > "$WORK/broken.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/broken.port" ] && break; sleep 0.1; done
if timeout 300 node tests/browser/crawl.mjs --base "http://127.0.0.1:$(cat "$WORK/broken.port")" --out "$WORK/broken-shots" \
    --incident INC-9 > "$WORK/broken.out" 2>&1; then
  bad "the crawl passes a broken site"; cat "$WORK/broken.out"
else
  missing=()
  for kind in "[page-error]  undefinedFunction" "[console-error]  boom from the page" "[http-status]  GET" \
      "[shown-error]  it broke" "[broken-link]  the page answers 404" "/api/v1/missing → 404" \
      "[not-shown]  the server said" "[timeline]" "[postmortem]" "[accepted]  POST"; do
    grep -qF -- "$kind" "$WORK/broken.out" || missing+=("$kind")
  done
  if [ ${#missing[@]} -eq 0 ]; then ok "the crawl reports every kind of problem on a broken site"
  else bad "the crawl missed on a broken site: ${missing[*]}"; cat "$WORK/broken.out"; fi
fi

mkdir -p target/screenshots/seeded
started=$SECONDS
if timeout 600 node tests/browser/crawl.mjs --base "$URL" --out target/screenshots/seeded \
    --incident INC-1 --incident-expect "rolling back 1.4.2"; then
  ok "console crawl: no problems ($((SECONDS - started)) s)"
else
  bad "console crawl found problems (above)"
  echo "--- homeostat log (tail)"; tail -20 "$WORK/homeostat.log"
fi

# What the pages show: loading and error states, severity badges and label
# chips, shifts and escalation policies, the alert-opened incident.
started=$SECONDS
if timeout 600 node tests/browser/console.mjs --base "$URL" --out target/screenshots/seeded \
    --incident INC-3 --slo checkout-availability --service checkout; then
  ok "console states and pages ($((SECONDS - started)) s)"
else
  bad "console states and pages (above)"
fi

# The SLO and golden-signal views: text size, axes, marker labels, named
# windows, raw history before the recording, honest budget wording (the
# seeded checkout SLO has spent several times its budget in three hours).
if timeout 300 node tests/browser/sloview.mjs --base "$URL" --service checkout --slo checkout-availability \
    --exhausted --out target/screenshots/seeded; then
  ok "SLO and golden-signal views read right"
else
  bad "SLO and golden-signal views (above)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
