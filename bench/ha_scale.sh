#!/usr/bin/env bash
# HA scale benchmark (not in CI): two homeostat replicas sharing PostgreSQL,
# Debian's VictoriaMetrics as the metrics engine (storage.mode: remote),
# 1,000 SLOs over bench/slo_scale.sh's workload (loadgen's hosts, written
# into VictoriaMetrics). Measures, side by side in one run:
#   - the rule cycle on the leader: every SLO group evaluated once, reading
#     VictoriaMetrics and forwarding the recordings to it;
#   - notification latency: alerts posted to the FOLLOWER, notified by the
#     leader to a webhook; post → webhook, group_wait subtracted (p50/p99);
#   - failover: kill -9 of the leader inside group_wait of FAILOVER_GROUPS
#     alert groups; time until the follower leads; duplicates and misses.
# Knobs: SERIES (loadgen series, 100000 = 1,000 hosts), HOURS (1), SLOS (one
# per host), INTERVAL (1m), LATENCY_ALERTS (300), FAILOVER_GROUPS (50),
# HOMEOSTAT / LOADGEN (binaries; default target/release, built unless
# SKIP_BUILD=1). Writes bench/out/ha-scale-<time>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${SERIES:-100000}
HOURS=${HOURS:-1}
SLOS=${SLOS:-$((SERIES / 100))}
INTERVAL=${INTERVAL:-1m}
LATENCY_ALERTS=${LATENCY_ALERTS:-300}
FAILOVER_GROUPS=${FAILOVER_GROUPS:-50}
source bench/lib.bash
# tests/interop/pg.bash starts PostgreSQL; it expects these two helpers.
free_port() { port; }
require_peer() { local name=$1; shift; "$@" >/dev/null 2>&1 || { echo "missing peer $name: run scripts/install-peers.sh"; exit 1; }; }
source tests/interop/pg.bash
require_peer victoria-metrics test -x /usr/bin/victoria-metrics
HOMEOSTAT=${HOMEOSTAT:-target/release/homeostat}
LOADGEN=${LOADGEN:-target/release/homeostat-loadgen}
[ -n "${SKIP_BUILD:-}" ] || build_release

echo "starting PostgreSQL, VictoriaMetrics and a webhook sink..."
start_pg > /dev/null
VMP=$(port)
/usr/bin/victoria-metrics -httpListenAddr="127.0.0.1:$VMP" -storageDataPath="$WORK/vm" \
  -search.latencyOffset=1s -loggerLevel=ERROR > "$WORK/vm.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$VMP/health"
HOOKS="$WORK/hooks.jsonl"; : > "$HOOKS"
python3 tests/interop/page_receiver.py "$HOOKS" > "$WORK/sink.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/sink.port" ] && break; sleep 0.1; done
SINK=$(cat "$WORK/sink.port")

echo "writing $SLOS SLO specs; loading $SERIES series × ${HOURS} h into VictoriaMetrics..."
python3 bench/slo_specs.py "$SLOS" "$WORK/slos.yaml"
END_MS=$(( $(date +%s) * 1000 - 60000 ))
START_MS=$(( END_MS - $(python3 -c "print(int($HOURS * 3600 * 1000))") ))
"$LOADGEN" --url "http://127.0.0.1:$VMP/api/v1/write" --series "$SERIES" --hours "$HOURS" \
  --start "$START_MS" --concurrency 2 > "$WORK/load.json"

cat > "$WORK/am.yml" <<YAML
route:
  receiver: blackhole
  routes:
    - {matchers: ['alertname=~"Lat.*"'], receiver: sink, group_by: [alertname], group_wait: 1s, group_interval: 5s, repeat_interval: 1h}
    - {matchers: ['alertname=~"Fo.*"'], receiver: sink, group_by: [alertname], group_wait: 10s, group_interval: 5s, repeat_interval: 1h}
receivers:
  - name: blackhole
  - name: sink
    webhook_configs: [{url: 'http://127.0.0.1:$SINK/sink'}]
YAML
cat > "$WORK/hs.yaml" <<YAML
self_scrape: false
global: {evaluation_interval: $INTERVAL}
slo_files: [slos.yaml]
storage: {mode: remote, remote: {url: "http://127.0.0.1:$VMP"}}
state: {backend: postgres, dsn: "$PG_DSN"}
alertmanager: {config_file: am.yml}
YAML
declare -A HP HPID
HP[a]=$(port); HP[b]=$(port)
serve() {
  "$HOMEOSTAT" serve --config "$WORK/hs.yaml" --listen "127.0.0.1:${HP[$1]}" --data-dir "$WORK/data-$1" > "$WORK/$1.log" 2>&1 &
  HPID[$1]=$!; PIDS+=($!)
  wait_http "http://127.0.0.1:${HP[$1]}/-/ready"
}
serve a
serve b
role() { curl -fsS -m 2 "http://127.0.0.1:${HP[$1]}/api/v1/status/cluster" 2>/dev/null \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["self"]["role"])' 2>/dev/null || true; }
L=""; for _ in $(seq 100); do for n in a b; do [ "$(role $n)" = leader ] && L=$n; done; [ -n "$L" ] && break; sleep 0.2; done
[ -n "$L" ] || { echo "no leader"; exit 1; }
F=$([ "$L" = a ] && echo b || echo a)
echo "leader: $L, follower: $F"

python3 - "${HP[$L]}" "${HP[$F]}" "${HPID[$L]}" "$HOOKS" "$LATENCY_ALERTS" "$FAILOVER_GROUPS" \
  "$SLOS" "$SERIES" "$HOURS" "$INTERVAL" "$OUT" <<'PY'
import json, os, re, signal, sys, time, urllib.request
from datetime import datetime
lp, fp, lpid, hooks, n_lat, n_fo, slos, series, hours, interval, out = sys.argv[1:]
lpid, n_lat, n_fo = int(lpid), int(n_lat), int(n_fo)
leader, follower = f"http://127.0.0.1:{lp}", f"http://127.0.0.1:{fp}"

def get(url, timeout=120):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)

def post_alerts(base, names):
    now = datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = json.dumps([{"labels": {"alertname": n}, "startsAt": now} for n in names]).encode()
    req = urllib.request.Request(f"{base}/api/v2/alerts", body, {"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()

def received():
    out = {}
    for l in open(hooks):
        h = json.loads(l)
        for a in h["body"]["alerts"]:
            out.setdefault(a["labels"]["alertname"], []).append(h["t"])
    return out

def ts(s):
    s = re.sub(r"\.(\d{6})\d*", r".\1", s.replace("Z", "+00:00"))
    return datetime.fromisoformat(s).timestamp()

# 1. The rule cycle: every group evaluated after t0, on the leader.
t0 = time.time()
while True:
    g = get(f"{leader}/api/v1/rules")["data"]["groups"]
    done = [x for x in g if x.get("lastEvaluation", "0001").startswith("20") and ts(x["lastEvaluation"]) >= t0]
    print(f"\r  rule cycle: {len(done)}/{len(g)} groups evaluated   ", end="", flush=True)
    if g and len(done) == len(g):
        break
    if time.time() - t0 > 1800:
        raise SystemExit("\nthe rule cycle did not complete in 30 min")
    time.sleep(2)
print()
cycle_sum = sum(x["evaluationTime"] for x in done)
slowest = max(x["evaluationTime"] for x in done)
starts = [ts(x["lastEvaluation"]) for x in done]
cycle_wall = max(s + x["evaluationTime"] for s, x in zip(starts, done)) - min(starts)
not_ok = sum(1 for x in done for r in x["rules"] if r.get("health") != "ok")

# 2. Notification latency: alerts posted to the follower, sent by the leader.
posted = {}
for i in range(n_lat):
    name = f"Lat{i:05d}"
    posted[name] = time.time()
    post_alerts(follower, [name])
    time.sleep(0.05)
deadline = time.time() + 60
while time.time() < deadline and len([n for n in posted if n in received()]) < n_lat:
    time.sleep(0.5)
got = received()
lat = sorted(max(0.0, got[n][0] - posted[n] - 1.0) for n in posted if n in got)
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
lat_missing = n_lat - len(lat)

# 3. Failover inside group_wait (10 s).
names = [f"Fo{i:04d}" for i in range(n_fo)]
post_alerts(follower, names)
time.sleep(2)
killed = time.time()
os.kill(lpid, signal.SIGKILL)
while True:
    try:
        if get(f"{follower}/api/v1/status/cluster", 2)["data"]["self"]["role"] == "leader":
            break
    except Exception:
        pass
    if time.time() - killed > 60:
        raise SystemExit("no failover in 60 s")
    time.sleep(0.1)
failover = time.time() - killed
time.sleep(25)
got = received()
counts = [len(got.get(n, [])) for n in names]
dups = sum(max(0, c - 1) for c in counts)
missing = sum(1 for c in counts if c == 0)
dup_lat = sum(max(0, len(got.get(n, [])) - 1) for n in posted)

lines = [
    f"# HA scale benchmark — {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC",
    "",
    f"2 replicas sharing PostgreSQL, VictoriaMetrics (Debian) as the metrics engine (`storage.mode: remote`); {slos} SLOs over {series} loadgen series × {hours} h written to VictoriaMetrics; evaluation interval {interval}; {os.cpu_count()} cores, everything on one machine.",
    "",
    "| measure | value |",
    "|---|---|",
    f"| rule cycle on the leader: groups | {len(done)} ({not_ok} rules not ok) |",
    f"| rule cycle: first group start → last group end (groups are spread over the interval) | {cycle_wall:.1f} s |",
    f"| rule cycle: sum of group evaluation times | {cycle_sum:.1f} s |",
    f"| rule cycle: slowest group | {slowest * 1000:.0f} ms |",
    f"| notification latency, post to follower → webhook from leader, group_wait subtracted: p50 | {p(0.5) * 1000:.0f} ms |",
    f"| notification latency p99 | {p(0.99) * 1000:.0f} ms |",
    f"| notification latency max | {(lat[-1] if lat else float('nan')) * 1000:.0f} ms |",
    f"| latency alerts not notified / notified twice | {lat_missing} / {dup_lat} |",
    f"| failover after kill -9 of the leader (lease 10 s) | {failover:.1f} s |",
    f"| failover groups ({n_fo}, killed inside group_wait): notified twice / never | {dups} / {missing} |",
]
path = os.path.join(out, f"ha-scale-{time.strftime('%Y%m%d-%H%M%S')}.md")
with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"saved {path}")
PY
