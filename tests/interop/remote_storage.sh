#!/usr/bin/env bash
# storage.mode: remote against Debian's VictoriaMetrics: every sample homeostat
# receives (remote-write from Debian's Prometheus and from a script) and every
# rule output (SLO recordings, ALERTS) is forwarded to VM through the disk
# queue, and rules read back from VM. Shown: the SLO page alert reaches the
# webhook; VM holds the recorded SLO series; homeostat's embedded store holds
# nothing; VM killed for 60 s while writes continue loses and duplicates no
# sample once it is back and the queue has drained.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer victoria-metrics test -x /usr/bin/victoria-metrics
require_peer prometheus command -v prometheus

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }

VM_PORT=$(free_port); VM="http://127.0.0.1:$VM_PORT"
start_vm() {
  # latencyOffset: VM hides samples younger than this from queries (30s by
  # default), which would delay every rule reading its own recent output.
  /usr/bin/victoria-metrics -httpListenAddr="127.0.0.1:$VM_PORT" -storageDataPath="$WORK/vm" \
    -search.latencyOffset=1s -search.disableCache -loggerLevel=ERROR >> "$WORK/vm.log" 2>&1 &
  VM_PID=$!
  PIDS+=("$VM_PID")
  wait_http "$VM/health" 30 || { tail -20 "$WORK/vm.log"; exit 1; }
}
start_vm

HOOKS="$WORK/hooks.jsonl"; : > "$HOOKS"
python3 tests/interop/page_receiver.py "$HOOKS" > "$WORK/receiver.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/receiver.port" ] && break; sleep 0.1; done
RPORT=$(cat "$WORK/receiver.port")

HS_PORT=$(free_port); URL="http://127.0.0.1:$HS_PORT"
cp tests/slo/checkout.yaml "$WORK/checkout.yaml"
cat > "$WORK/alertmanager.yml" <<YAML
route: {receiver: pager, group_by: [alertname], group_wait: 1s, group_interval: 2s, repeat_interval: 1h}
receivers:
  - name: pager
    webhook_configs: [{url: 'http://127.0.0.1:$RPORT/pager'}]
YAML
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
global: {evaluation_interval: 5s}
slo_files: [checkout.yaml]
alertmanager: {config_file: alertmanager.yml}
storage:
  mode: remote
  remote:
    url: $VM
    tenant: team-a
    queue: {batch_send_deadline: 500ms, max_backoff: 1s}
YAML
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"

PROM_PORT=$(free_port)
cat > "$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: prom
    static_configs: [{targets: ['127.0.0.1:$PROM_PORT']}]
remote_write:
  - url: $URL/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" > "$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
PIDS+=("$PROM_PID")

# Three hours of checkout traffic up to now, 1% errors after the first
# half hour: a 10x burn of a 99.9% SLO (as in slo_e2e.sh).
python3 - "$URL/api/v1/write" <<'PY'
import sys, time
sys.path.insert(0, "tests/interop")
from promgen import push
url = sys.argv[1]
now = int(time.time() * 1000) // 60_000 * 60_000
start = now - 180 * 60_000
ok = bad = 0.0
ok_s, bad_s = [], []
for m in range(181):
    t = start + m * 60_000
    if m > 30:
        ok += 990; bad += 10
    elif m > 0:
        ok += 1000
    ok_s.append((t, ok)); bad_s.append((t, bad))
base = {"__name__": "http_requests_total", "job": "checkout"}
push(url, [(dict(base, code="200"), ok_s), (dict(base, code="500"), bad_s)])
PY

vm_count() { # PROMQL -> number of series in VM's answer
  curl -fsS "$VM/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))'
}
wait_vm() { # PROMQL SECONDS
  local deadline=$((SECONDS + $2))
  until [ "$(vm_count "$1" 2>/dev/null || echo 0)" -gt 0 ]; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 1
  done
}
if wait_vm 'count_over_time(http_requests_total{job="checkout"}[4h])' 20; then
  ok "pushed samples reached VictoriaMetrics through the queue"; else bad "pushed samples not in VM"; fi
if wait_vm 'slo:sli_error:ratio_rate5m' 40; then
  ok "VM holds the recorded SLO series (slo:sli_error:ratio_rate5m)"; else bad "no recorded SLO series in VM"; fi
if wait_vm 'up{job="prom"}' 30; then
  ok "Prometheus remote-write into homeostat lands in VM"; else bad "Prometheus samples not in VM"; tail -5 "$WORK/prometheus.log"; fi
# Stopped now, while homeostat still takes its last remote-write: stopped
# at cleanup it would wait out its flush deadline (1 min) for nobody.
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null || true

# The embedded store is not opened: no WAL, no series, and the status says so.
if [ ! -e "$WORK/hs-data/wal" ] && ! curl -fsS "$URL/metrics" | grep -q '^homeostat_tsdb_head_series' &&
   curl -fsS "$URL/api/v1/status/runtimeinfo" | grep -q '"storageMode":"remote"'; then
  ok "embedded store holds no series (not opened; runtimeinfo storageMode remote)"; else bad "embedded store in use"; fi

# The page tier goes pending once the recorded burn rates are back in VM;
# the outage below then runs inside its `for: 2m`.
page_state() {
  curl -fsS "$URL/api/v1/alerts" | python3 -c '
import json, sys
print(" ".join(a["state"] for a in json.load(sys.stdin)["data"]["alerts"]
               if a["labels"].get("sloth_severity") == "page") or "inactive")'
}
deadline=$((SECONDS + 60))
until [ "$(page_state)" = pending ] || [ $SECONDS -ge $deadline ]; do sleep 1; done
if [ "$(page_state)" = pending ]; then ok "page tier pending after $SECONDS s, before the outage"; else
  bad "page tier not pending: $(page_state)"; fi

# A counter pushed one sample a request at known timestamps, before, during
# and after a 60 s VM outage.
push_counter() { # FROM TO: samples i in [FROM, TO), t = BASE + i s
  python3 - "$URL/api/v1/write" "$BASE" "$1" "$2" <<'PY'
import sys, time
sys.path.insert(0, "tests/interop")
from promgen import push
url, base, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(a, b):
    push(url, [({"__name__": "outage_counter_total", "job": "outage"}, [(base + i * 1000, float(i))])])
    time.sleep(0.1)
PY
}
BASE=$(( ($(date +%s) - 1800) * 1000 ))
push_counter 0 50
kill "$VM_PID"; wait "$VM_PID" 2>/dev/null || true
echo "VictoriaMetrics stopped; writing for 60 s"
outage_end=$((SECONDS + 60))
i=50
while [ $SECONDS -lt $outage_end ]; do push_counter $i $((i + 10)); i=$((i + 10)); done
metric() { curl -fsS "$URL/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" {printf "%d\n", $2}'; }
pending=$(metric homeostat_remote_storage_pending_samples)
retries=$(metric homeostat_remote_storage_retries_total)
echo "  during the outage: $pending samples pending, $retries retries"
if [ "$pending" -ge $((i - 50)) ] && [ "$retries" -gt 0 ]; then
  ok "queue held the outage's samples ($pending pending, $retries retries)"; else bad "queue during outage"; fi
start_vm
push_counter $i $((i + 20)); N=$((i + 20))

deadline=$((SECONDS + 60))
until [ "$(metric homeostat_remote_storage_pending_samples)" = "0" ]; do
  [ $SECONDS -ge $deadline ] && break; sleep 0.5
done
exact() {
  curl -fsS "$VM/api/v1/export" --data-urlencode 'match[]=outage_counter_total' \
    --data-urlencode "start=$((BASE / 1000 - 10))" | python3 -c "
import json, sys
ts = [t for line in sys.stdin if line.strip() for t in json.loads(line)['timestamps']]
want = [$BASE + i * 1000 for i in range($N)]
print(f'  VM has {len(ts)} samples ({len(set(ts))} distinct), {len(want)} pushed')
sys.exit(0 if sorted(ts) == want else 1)"
}
deadline=$((SECONDS + 20)); good=0
while [ $SECONDS -lt $deadline ]; do if exact >/dev/null 2>&1; then good=1; break; fi; sleep 1; done
exact || true
if [ $good = 1 ]; then ok "after the outage VM has all $N counter samples, none twice"; else bad "samples lost or duplicated over the outage"; fi

# The page tier (sloth_severity=page, not the ticket tier of the same
# alertname) fires after `for: 2m`, its timer kept while VM was away.
deadline=$((SECONDS + 200)); paged=0
while [ $SECONDS -lt $deadline ]; do
  if python3 - "$HOOKS" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    h = json.loads(line)
    if h["path"] == "/pager" and any(
            a["labels"].get("alertname") == "CheckoutAvailability"
            and a["labels"].get("sloth_severity") == "page" and a["status"] == "firing"
            for a in h["body"].get("alerts", [])):
        sys.exit(0)
sys.exit(1)
PY
  then paged=1; break; fi
  sleep 2
done
if [ $paged = 1 ]; then ok "SLO page alert CheckoutAvailability reached the webhook after $SECONDS s"; else
  bad "no page at the webhook"; curl -sS "$URL/api/v1/alerts" | head -c 800; echo; grep -i error "$WORK/homeostat.log" | tail -5; fi
if [ "$(vm_count 'ALERTS{alertname="CheckoutAvailability"}')" -gt 0 ]; then
  ok "ALERTS series forwarded to VM"; else bad "no ALERTS in VM"; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
