#!/usr/bin/env bash
# Gate latency under ingest load: homeostat ingests the ingest benchmark's
# workload (loadgen, remote-write) while a client asks the error-budget gate
# (`GET /api/v1/gate`) about a service with three SLOs over that data, one
# request at a time on a kept-alive connection, for as long as the load
# runs. Prints p50/p99/max gate latency and the ingest rate; target p99 < 5 ms.
# NICE_LOADGEN=0 runs the generator at normal priority (worst case: the
# generator competes with the server for the 2 cores).
# Knobs: SERIES (default 100000), HOURS (default 1), RATE (gate requests/s, default 50).
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${SERIES:-100000}
HOURS=${HOURS:-1}
RATE=${RATE:-50}
source bench/lib.bash
build_release

cat > "$WORK/slos.yaml" <<'YAML'
version: prometheus/v1
service: fleet
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{instance=~"host-000.*",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{instance=~"host-000.*"}[{{.window}}]))
    alerting: {name: FleetAvailability}
  - name: api-availability
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(http_requests_total{instance=~"host-001.*",handler=~"/api.*",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{instance=~"host-001.*",handler=~"/api.*"}[{{.window}}]))
    alerting: {name: FleetApiAvailability}
  - name: search-availability
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{instance=~"host-002.*",handler="/api/search",code="503"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{instance=~"host-002.*",handler="/api/search"}[{{.window}}]))
    alerting: {name: FleetSearchAvailability}
YAML
cat > "$WORK/hs.yaml" <<'YAML'
self_scrape: false
slo_files: [slos.yaml]
gate:
  policies:
    - {service: fleet, freeze_below_remaining_percent: 10}
YAML
HP=$(port)
./target/release/homeostat serve --config "$WORK/hs.yaml" --listen "127.0.0.1:$HP" --data-dir "$WORK/hs" > "$WORK/hs.log" 2>&1 &
HPID=$!
PIDS+=($HPID)
wait_http "http://127.0.0.1:$HP/-/ready"

END_MS=$(( $(date +%s) * 1000 - 60000 ))
SPAN_MS=$(python3 -c "print(int($HOURS * 3600 * 1000))")
echo "ingesting $SERIES series × ${HOURS} h while asking the gate $RATE times a second..."
# The load generator stands in for remote machines: it runs at a lower CPU
# priority so it does not take the server's cores (the server's own ingest
# work — decoding, WAL, head — runs at normal priority, as in production).
nice -n "${NICE_LOADGEN:-10}" ./target/release/homeostat-loadgen --url "http://127.0.0.1:$HP/api/v1/write" --series "$SERIES" --hours "$HOURS" \
  --start "$(( END_MS - SPAN_MS ))" --concurrency 2 > "$WORK/load.json" 2> "$WORK/load.err" &
LPID=$!
PIDS+=($LPID)

python3 - "$HP" "$LPID" "$RATE" "$SERIES" "$HOURS" "$OUT" "$WORK/load.json" <<'PY'
import http.client, json, os, statistics, sys, time
hp, lpid, rate, series, hours, out, load_json = sys.argv[1:]
lpid, rate = int(lpid), float(rate)
conn = http.client.HTTPConnection("127.0.0.1", int(hp), timeout=30)
lat, allow, errors, cached = [], 0, 0, 0
t0 = time.time()
def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
time.sleep(2)
while alive(lpid):
    start = time.perf_counter()
    conn.request("GET", "/api/v1/gate?service=fleet&change_type=feature")
    r = conn.getresponse()
    body = r.read()
    lat.append((time.perf_counter() - start) * 1000)
    if r.status != 200:
        errors += 1
    else:
        d = json.loads(body)["data"]
        allow += d["allow"]
    n = len(lat)
    if n % 200 == 0:
        print(f"\r  {n} gate requests, p99 so far {sorted(lat)[int(0.99 * (n - 1))]:.2f} ms   ", end="", flush=True)
    time.sleep(max(0.0, 1 / rate - (time.perf_counter() - start)))
print()
wall = time.time() - t0
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * (len(lat) - 1)))]
try:
    load = json.load(open(load_json))
except Exception:
    load = {}
samples = load.get("samples", 0)
secs = load.get("seconds") or load.get("elapsed_seconds") or 0
lines = [
    f"# Gate latency under ingest load — {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC",
    "",
    f"`GET /api/v1/gate?service=fleet` (3 SLOs, policy freeze below 10 %) asked {rate:g}×/s on one kept-alive connection while homeostat ingested {series} loadgen series × {hours} h over remote-write ({os.cpu_count()} cores, load generator on the same machine at nice {os.environ.get('NICE_LOADGEN', '10')}).",
    "",
    "| gate requests | p50 | p90 | p99 | max | non-200 |",
    "|---|---|---|---|---|---|",
    f"| {len(lat)} | {q(0.5):.2f} ms | {q(0.9):.2f} ms | {q(0.99):.2f} ms | {lat[-1]:.2f} ms | {errors} |",
    "",
    f"Ingest during the run: {samples} samples" + (f" in {secs:.1f} s ({samples / secs:,.0f}/s)" if secs else "") + f"; the gate was asked for {wall:.1f} s.",
    f"Target: p99 < 5 ms — {'met' if q(0.99) < 5 else 'NOT met'}.",
]
path = os.path.join(out, f"gate-{time.strftime('%Y%m%d-%H%M%S')}.md")
open(path, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"saved {path}")
PY
