#!/usr/bin/env bash
# Gate latency under ingest load: homeostat ingests the ingest benchmark's
# workload (loadgen, remote-write) while a client asks the error-budget gate
# (`GET /api/v1/gate`) about a service with three SLOs over that data, one
# request at a time on a kept-alive connection, for as long as the load
# runs. Prints p50/p99/max gate latency and the ingest rate; target p99 < 5 ms.
# LOADGEN_SCHED says how the generator (which stands in for remote machines
# but shares this machine's cores) is scheduled: idle (default; SCHED_IDLE,
# it gets only CPU the server does not want, the closest a one-machine run
# comes to a remote sender), nice (nice 10) or normal (worst case: it
# competes with the server for the cores).
# Knobs: SERIES (default 100000), HOURS (default 1), RATE (gate requests/s, default 50),
# WRITE_LIMITS (extra `limits:` keys, e.g. "write_threads: 1, write_nice: 10"),
# CLIENT_NICE (nice increment for the gate client, e.g. -10 as root).
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
cat > "$WORK/hs.yaml" <<YAML
self_scrape: false
limits: {${WRITE_LIMITS:-}}
slo_files: [slos.yaml]
gate:
  policies:
    - {service: fleet, freeze_below_remaining_percent: 10}
YAML
export WRITE_LIMITS=${WRITE_LIMITS:-}
HP=$(port)
./target/release/homeostat serve --config "$WORK/hs.yaml" --listen "127.0.0.1:$HP" --data-dir "$WORK/hs" > "$WORK/hs.log" 2>&1 &
HPID=$!
PIDS+=($HPID)
wait_http "http://127.0.0.1:$HP/-/ready"

END_MS=$(( $(date +%s) * 1000 - 60000 ))
SPAN_MS=$(python3 -c "print(int($HOURS * 3600 * 1000))")
echo "ingesting $SERIES series × ${HOURS} h while asking the gate $RATE times a second..."
LOADGEN_SCHED=${LOADGEN_SCHED:-idle}
case "$LOADGEN_SCHED" in
  idle) LOADGEN_PREFIX=(chrt -i 0) ;;
  nice) LOADGEN_PREFIX=(nice -n 10) ;;
  normal) LOADGEN_PREFIX=() ;;
  *) echo "LOADGEN_SCHED must be idle, nice or normal" >&2; exit 2 ;;
esac
export LOADGEN_SCHED
# The server itself runs as in production: request threads at normal
# priority, write threads (decoding, WAL, head appends) as SCHED_BATCH at
# nice +5 (limits.write_nice).
"${LOADGEN_PREFIX[@]}" ./target/release/homeostat-loadgen --url "http://127.0.0.1:$HP/api/v1/write" --series "$SERIES" --hours "$HOURS" \
  --start "$(( END_MS - SPAN_MS ))" --concurrency 2 > "$WORK/load.json" 2> "$WORK/load.err" &
LPID=$!
PIDS+=($LPID)

${CLIENT_NICE:+nice -n "$CLIENT_NICE"} python3 - "$HP" "$LPID" "$RATE" "$SERIES" "$HOURS" "$OUT" "$WORK/load.json" <<'PY'
import http.client, json, os, statistics, sys, time
hp, lpid, rate, series, hours, out, load_json = sys.argv[1:]
lpid, rate = int(lpid), float(rate)
conn = http.client.HTTPConnection("127.0.0.1", int(hp), timeout=30)
lat, allow, errors, cached = [], 0, 0, 0
inline, slow_inline, nodata = 0, 0, 0
t0 = time.time()
def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
# Warm up: until the SLO rules have recorded their first data, every gate
# answer measures inline (a different path, reported apart); the steady
# state under ingest is what the target is about.
warm_t0, warm = time.time(), []
while alive(lpid) and time.time() - warm_t0 < 120:
    start = time.perf_counter()
    conn.request("GET", "/api/v1/gate?service=fleet&change_type=feature")
    r = conn.getresponse()
    body = r.read()
    warm.append((time.perf_counter() - start) * 1000)
    if r.status == 200 and all(s["remaining"] is not None for s in json.loads(body)["data"]["slos"]):
        break
    time.sleep(0.1)
warm_s = time.time() - warm_t0
srv_before = {}
def server_hist():
    out = {}
    try:
        conn.request("GET", "/metrics")
        for line in conn.getresponse().read().decode().splitlines():
            if line.startswith('homeostat_http_request_duration_seconds_bucket{code="200",handler="/api/v1/gate"'):
                out[line.split('le="')[1].split('"')[0]] = float(line.rsplit(" ", 1)[1])
    except Exception as e:
        print(f"could not read the server's histogram: {e}")
    return out
srv_before = server_hist()
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
        if d.get("measuredInline"):
            inline += 1
            if lat[-1] > 5:
                slow_inline += 1
            if any(s["remaining"] is None for s in d["slos"]):
                nodata += 1
    n = len(lat)
    if n % 200 == 0:
        print(f"\r  {n} gate requests, p99 so far {sorted(lat)[int(0.99 * (n - 1))]:.2f} ms   ", end="", flush=True)
    time.sleep(max(0.0, 1 / rate - (time.perf_counter() - start)))
print()
wall = time.time() - t0
# The server's own view (handler entry to response), to tell time spent in
# the gate from time spent waiting for a core on the way in and out.
server = {le: v - srv_before.get(le, 0) for le, v in server_hist().items()}
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
    f"`GET /api/v1/gate?service=fleet` (3 SLOs, policy freeze below 10 %) asked {rate:g}×/s on one kept-alive connection while homeostat ingested {series} loadgen series × {hours} h over remote-write ({os.cpu_count()} cores, load generator on the same machine, scheduled {os.environ.get('LOADGEN_SCHED')}; server limits: {{{os.environ.get('WRITE_LIMITS', '')}}}).",
    "",
    "| gate requests | p50 | p90 | p99 | max | non-200 |",
    "|---|---|---|---|---|---|",
    f"| {len(lat)} | {q(0.5):.2f} ms | {q(0.9):.2f} ms | {q(0.99):.2f} ms | {lat[-1]:.2f} ms | {errors} |",
    "",
    f"Ingest during the run: {samples} samples" + (f" in {secs:.1f} s ({samples / secs:,.0f}/s)" if secs else "") + f"; the gate was asked for {wall:.1f} s.",
    f"Target: p99 < 5 ms — {'met' if q(0.99) < 5 else 'NOT met'}.",
    "",
    f"Answers that measured inline (no fresh background measurement with data for every SLO): {inline}, of them over 5 ms: {slow_inline}, with an SLO still without data: {nodata}.",
    "",
    f"Warm-up (not in the table): {len(warm)} answers in {warm_s:.1f} s before every SLO had data; "
    + (f"those measured inline, max {max(warm):.1f} ms." if warm else "none."),
]
if server.get("+Inf"):
    tot = server["+Inf"]
    lines += ["", "Server-side (handler entry to response, from homeostat's own histogram): " + ", ".join(
        f"{100 * server[le] / tot:.2f} % within {float(le) * 1000:g} ms" for le in ("0.001", "0.0025", "0.005") if le in server) + "."]

path = os.path.join(out, f"gate-{time.strftime('%Y%m%d-%H%M%S')}.md")
open(path, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"saved {path}")
PY
