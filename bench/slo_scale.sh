#!/usr/bin/env bash
# SLO scale benchmark: 1,000 SLOs (one per loadgen host, availability of its
# http_requests_total) evaluated by homeostat's rule engine over the ingest
# benchmark's data set. Reports the cost of one rule-evaluation cycle: the sum
# of every SLO group's evaluation time (what one cycle costs when run one
# group after another on one core), the slowest group, and the rule
# engine's CPU time per cycle measured from /proc while nothing else runs.
# Knobs: SERIES (loadgen series, default 100000 = 1,000 hosts), HOURS (data
# span, default 1), SLOS (default: one per host), INTERVAL (evaluation
# interval, default 1m), CYCLES (cycles measured after the load, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${SERIES:-100000}
HOURS=${HOURS:-1}
HOSTS=$((SERIES / 100))
SLOS=${SLOS:-$HOSTS}
INTERVAL=${INTERVAL:-1m}
CYCLES=${CYCLES:-3}
source bench/lib.bash

build_release

echo "writing $SLOS SLO specs..."
python3 bench/slo_specs.py "$SLOS" "$WORK/slos.yaml"
./target/release/homeostat slo validate "$WORK/slos.yaml" > /dev/null

HP=$(port)
cat > "$WORK/hs.yaml" <<YAML
self_scrape: false
global: {evaluation_interval: $INTERVAL}
slo_files: [slos.yaml]
YAML
./target/release/homeostat serve --config "$WORK/hs.yaml" --listen "127.0.0.1:$HP" --data-dir "$WORK/hs" > "$WORK/hs.log" 2>&1 &
HPID=$!
PIDS+=($HPID)
wait_http "http://127.0.0.1:$HP/-/ready"

END_MS=$(( $(date +%s) * 1000 - 60000 ))
SPAN_MS=$(python3 -c "print(int($HOURS * 3600 * 1000))")
START_MS=$(( END_MS - SPAN_MS ))
echo "loading $SERIES series × ${HOURS} h..."
./target/release/homeostat-loadgen --url "http://127.0.0.1:$HP/api/v1/write" --series "$SERIES" --hours "$HOURS" \
  --start "$START_MS" --concurrency 2 > "$WORK/load.json"
LOADED_MS=$(( $(date +%s) * 1000 ))

python3 - "$HP" "$HPID" "$LOADED_MS" "$CYCLES" "$SLOS" "$SERIES" "$HOURS" "$INTERVAL" "$OUT" <<'PY'
import json, os, sys, time, urllib.request
hp, pid, loaded_ms, cycles, slos, series, hours, interval, out = sys.argv[1:]
loaded_ms, cycles = int(loaded_ms), int(cycles)
base = f"http://127.0.0.1:{hp}"
tick = os.sysconf("SC_CLK_TCK")

def cpu():
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / tick

def groups():
    with urllib.request.urlopen(f"{base}/api/v1/rules", timeout=120) as r:
        return json.load(r)["data"]["groups"]

def ts(s):
    # RFC 3339 with optional fraction, UTC "Z".
    import re
    from datetime import datetime
    s = re.sub(r"\.(\d{6})\d*", r".\1", s.replace("Z", "+00:00"))
    return datetime.fromisoformat(s).timestamp() * 1000

def wait_cycle_after(t_ms, deadline_s=900):
    """Waits until every group has evaluated after t_ms; returns the groups."""
    end = time.time() + deadline_s
    while True:
        g = groups()
        done = [x for x in g if x.get("lastEvaluation") and not x["lastEvaluation"].startswith("0001") and ts(x["lastEvaluation"]) >= t_ms]
        pct = 100 * len(done) // max(1, len(g))
        print(f"\r  cycle progress: {len(done)}/{len(g)} groups ({pct}%)   ", end="", flush=True)
        if len(done) == len(g):
            print()
            return g
        if time.time() > end:
            print()
            raise SystemExit(f"timed out: {len(done)}/{len(g)} groups evaluated")
        time.sleep(2)

rows = []
t = loaded_ms
for c in range(cycles):
    c0 = cpu(); w0 = time.time()
    g = wait_cycle_after(t)
    c1 = cpu(); w1 = time.time()
    total = sum(x["evaluationTime"] for x in g)
    slowest = max(x["evaluationTime"] for x in g)
    health = sum(1 for x in g for r in x["rules"] if r.get("health") != "ok")
    rows.append((c + 1, len(g), total, slowest, c1 - c0, w1 - w0, health))
    print(f"cycle {c+1}: {len(g)} groups, sum of group evaluation times {total:.2f} s, slowest group {slowest*1000:.1f} ms, server CPU {c1-c0:.2f} s over {w1-w0:.1f} s wall, rules not ok: {health}")
    t = int(time.time() * 1000)

best = min(r[2] for r in rows)
lines = [
    f"# SLO scale benchmark — {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC",
    "",
    f"{slos} SLOs (homeostat mode, 30d, all Workbook windows: 5m 30m 1h 2h 6h 1d 3d + period) over {series} loadgen series × {hours} h; evaluation interval {interval}; {os.cpu_count()} cores.",
    "",
    "| cycle | groups | sum of group eval times (s) | slowest group (ms) | server CPU in cycle (s) | wall (s) | rules not ok |",
    "|---|---|---|---|---|---|---|",
] + [f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]*1000:.1f} | {r[4]:.2f} | {r[5]:.1f} | {r[6]} |" for r in rows] + [
    "",
    f"One cycle (best of {len(rows)}): **{best:.2f} s** of evaluation for {slos} SLOs; target < 10 s.",
]
path = os.path.join(out, f"slo-scale-{time.strftime('%Y%m%d-%H%M%S')}.md")
with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"saved {path}")
PY
