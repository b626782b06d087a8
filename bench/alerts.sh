#!/usr/bin/env bash
# Alert intake benchmark (not in CI): homeostat's built-in Alertmanager takes
# RATE alerts/s (default 10,000) for SECONDS (default 60), posted in batches
# of BATCH over CONCURRENCY connections by bench/alertgen, cycling through
# UNIQUE distinct alerts (the rest are re-posts, deduplicated). Then every
# alert must be accounted for: GET /api/v2/alerts holds exactly UNIQUE alerts
# and /api/v2/alerts/groups the expected groups. Prints and writes
# bench/out/alerts.md: alerts/s achieved, p50/p99 per POST, server CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-10000}; SECONDS_=${SECONDS_:-60}; BATCH=${BATCH:-100}
CONCURRENCY=${CONCURRENCY:-8}; UNIQUE=${UNIQUE:-100000}
OUT=bench/out; mkdir -p "$OUT"
WORK=$(mktemp -d); PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

echo "building release binaries..."
cargo build --release -q --bin homeostat
cargo build --release -q -p homeostat-alertgen
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/am.yml" <<YAML
route: {receiver: blackhole, group_by: [alertname, job], group_wait: 30s, group_interval: 5m}
receivers: [{name: blackhole}]
YAML
printf 'self_scrape: false\nalertmanager: {config_file: am.yml, resolve_timeout: 10m}\n' > "$WORK/hs.yml"
target/release/homeostat serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --config "$WORK/hs.yml" > "$WORK/hs.log" 2>&1 &
PID=$!
for _ in $(seq 1 150); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/-/ready" && break; sleep 0.2; done
TICK=$(getconf CLK_TCK)
cpu() { awk -v t="$TICK" '{print ($14+$15)/t}' "/proc/$PID/stat"; }
CPU0=$(cpu)
echo "posting $RATE alerts/s for ${SECONDS_}s ($UNIQUE distinct, batches of $BATCH, $CONCURRENCY connections)..."
target/release/homeostat-alertgen --url "http://127.0.0.1:$PORT" --rate "$RATE" --seconds "$SECONDS_" \
  --batch "$BATCH" --concurrency "$CONCURRENCY" --unique "$UNIQUE" > "$WORK/gen.json"
CPU1=$(cpu)
RSS0=$(awk '/VmRSS/ {print $2*1024}' "/proc/$PID/status")
curl -fsS "http://127.0.0.1:$PORT/api/v2/alerts" > "$WORK/alerts.json"
curl -fsS "http://127.0.0.1:$PORT/api/v2/alerts/groups" > "$WORK/groups.json"
RSS=$(awk '/VmRSS/ {print $2*1024}' "/proc/$PID/status")
curl -fsS "http://127.0.0.1:$PORT/metrics" | grep -E '^homeostat_alerts_(received|invalid)_total' > "$WORK/metrics.txt" || true
python3 - "$WORK" "$CPU0" "$CPU1" "$RSS" "$OUT/alerts.md" "$RSS0" <<'PY'
import json, sys
work, cpu0, cpu1, rss, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
g = json.load(open(work + "/gen.json"))
alerts = json.load(open(work + "/alerts.json"))
groups = json.load(open(work + "/groups.json"))
received = sum(float(l.split()[-1]) for l in open(work + "/metrics.txt") if "received" in l)
in_groups = sum(len(x["alerts"]) for x in groups)
fps = {a["fingerprint"] for a in alerts}
checks = [
    ("alerts held == distinct posted", len(alerts), g["unique_alerts"]),
    ("distinct fingerprints", len(fps), g["unique_alerts"]),
    ("groups == expected", len(groups), g["expected_groups"]),
    ("alerts in groups", in_groups, g["unique_alerts"]),
    ("alerts received (metric) == posted", int(received), g["alerts_posted"]),
    ("failed posts", g["errors"], 0),
]
cpu = cpu1 - cpu0
rows = [
    ("alerts posted", f'{g["alerts_posted"]:,}'),
    ("distinct alerts (dedup)", f'{g["unique_alerts"]:,}'),
    ("posts (batches)", f'{g["posts"]:,}'),
    ("duration", f'{g["seconds"]:.1f} s'),
    ("alerts/s achieved", f'{g["alerts_per_second"]:,.0f}'),
    ("intake latency p50 per POST", f'{g["p50_ms"]:.2f} ms'),
    ("intake latency p99 per POST", f'{g["p99_ms"]:.2f} ms'),
    ("intake latency max", f'{g["max_ms"]:.1f} ms'),
    ("server CPU", f'{cpu:.1f} s ({cpu / g["seconds"]:.2f} cores)'),
    ("alerts/CPU-second", f'{g["alerts_posted"] / max(cpu, 1e-9):,.0f}'),
    ("server RSS after intake", f'{int(sys.argv[6]) / 2**20:.0f} MiB'),
    ("server RSS after listing every alert", f'{rss / 2**20:.0f} MiB'),
]
lines = ["| measure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
lines += ["", "| accounting check | got | want | |", "|---|---|---|---|"]
ok = True
for name, got, want in checks:
    good = got == want
    ok &= good
    lines.append(f"| {name} | {got:,} | {want:,} | {'ok' if good else 'MISMATCH'} |")
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
sys.exit(0 if ok else 1)
PY
