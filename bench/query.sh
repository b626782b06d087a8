#!/usr/bin/env bash
# Query benchmark: the same data in homeostat and Prometheus, then a fixed mix
# of dashboard-style range queries against both, one system after the other
# per repetition. Prints the median latency per query and homeostat ÷
# Prometheus, and saves a markdown report under bench/out/.
# Knobs: SERIES (loadgen series, default 20000), HOURS (data span, default 1; Prometheus refuses samples more than 1 h older than its newest, so longer spans need a different load order),
# RUNS (repetitions per query and system, default 5), STEP (range step, 30s).
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${SERIES:-20000}
HOURS=${HOURS:-1}
RUNS=${RUNS:-5}
STEP=${STEP:-30}
source bench/lib.bash
command -v prometheus >/dev/null || { echo "prometheus is not installed (scripts/install-peers.sh)"; exit 1; }

build_release

HP=$(port); PP=$(port)
printf 'self_scrape: false\n' > "$WORK/hs.yaml"
./target/release/homeostat serve --config "$WORK/hs.yaml" --listen "127.0.0.1:$HP" --data-dir "$WORK/hs" > "$WORK/hs.log" 2>&1 &
PIDS+=($!)
echo "global: {scrape_interval: 1h}" > "$WORK/prom.yml"
prometheus --config.file="$WORK/prom.yml" --storage.tsdb.path="$WORK/prom" --web.listen-address="127.0.0.1:$PP" \
  --web.enable-remote-write-receiver > "$WORK/prom.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$HP/-/ready"
wait_http "http://127.0.0.1:$PP/-/ready"

# Both systems get identical data: the loadgen fleet (counters, gauges) plus
# promgen's classic histograms, over the same span ending a minute ago.
END_MS=$(( $(date +%s) * 1000 - 60000 ))
SPAN_MS=$(python3 -c "print(int($HOURS * 3600 * 1000))")
START_MS=$(( END_MS - SPAN_MS ))
for target in "homeostat 127.0.0.1:$HP" "prometheus 127.0.0.1:$PP"; do
  set -- $target
  echo "loading $SERIES series × ${HOURS} h into $1..."
  ./target/release/homeostat-loadgen --url "http://$2/api/v1/write" --series "$SERIES" --hours "$HOURS" \
    --start "$START_MS" --concurrency 2 > "$WORK/load-$1.json"
  python3 tests/interop/promgen.py push "http://$2/api/v1/write" "$START_MS" "$END_MS"
done

python3 - "$HP" "$PP" "$START_MS" "$END_MS" "$RUNS" "$STEP" "$SERIES" "$HOURS" "$OUT" <<'PY'
import json, statistics, sys, time, urllib.error, urllib.parse, urllib.request
hp, pp, start_ms, end_ms, runs, step, series, hours, out = sys.argv[1:]
start_ms, end_ms, runs, step = int(start_ms), int(end_ms), int(runs), int(step)
systems = {"homeostat": f"http://127.0.0.1:{hp}", "prometheus": f"http://127.0.0.1:{pp}"}
span_s = (end_ms - start_ms) // 1000
end = end_ms / 1000
# `[7d]` over a 1 h dashboard needs 7d + 1h of data; on a shorter data set
# the dashboard range becomes min(1 h, span / 2) and the window the rest.
long_range = 3600 if span_s >= 8 * 86400 else min(3600, span_s // 2)
long = "7d" if span_s >= 8 * 86400 else f"{span_s - long_range}s"
QUERIES = [
    ("sum by (region) (rate(http_requests_total[5m]))", 3600),
    ("sum by (code) (rate(http_requests_total{handler=~\"/api.*\"}[5m]))", 3600),
    ("histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))", 3600),
    ("topk(10, sum by (instance) (rate(node_cpu_seconds_total{mode!=\"idle\"}[5m])))", 3600),
    (f"avg_over_time(node_hwmon_temp_celsius[{long}])", long_range),
    ("max by (az) (node_memory_MemAvailable_bytes)", 3600),
]

def run(base, q, rng):
    params = urllib.parse.urlencode({"query": q, "start": end - rng, "end": end, "step": step}).encode()
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/query_range", data=params), timeout=300) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        return None, f"HTTP {e.code}: {e.read()[:200].decode(errors='replace')}"
    except Exception as e:  # noqa: BLE001 - any failure is reported, not fatal
        return None, str(e)
    dt = time.perf_counter() - t0
    if body.get("status") != "success":
        return None, body.get("error", "error")
    return dt, len(body["data"]["result"])

rows = []
for i, (q, rng) in enumerate(QUERIES, 1):
    lat = {n: [] for n in systems}
    info = {}
    for r in range(runs):
        for n, base in systems.items():
            dt, what = run(base, q, rng)
            if dt is None:
                info[n] = f"error: {what}"
            else:
                lat[n].append(dt)
                info.setdefault(n, f"{what} series")
        print(f"\r[{i}/{len(QUERIES)}] run {r + 1}/{runs}: {q[:70]}", end="", file=sys.stderr, flush=True)
    med = {n: statistics.median(v) if v else None for n, v in lat.items()}
    ratio = med["homeostat"] / med["prometheus"] if med["homeostat"] and med["prometheus"] else None
    rows.append((q, rng, med, ratio, info))
    print(file=sys.stderr)
    fmt = lambda v: f"{v * 1000:.1f} ms" if v is not None else "n/a"
    print(f"  homeostat {fmt(med['homeostat'])} ({info.get('homeostat')}), prometheus {fmt(med['prometheus'])} "
          f"({info.get('prometheus')}), ratio {f'{ratio:.2f}×' if ratio else 'n/a'}", file=sys.stderr)

stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
report = f"{out}/query-{stamp}.md"
lines = [f"# Query benchmark {time.strftime('%F', time.gmtime())} — {series} loadgen series + 316 promgen series, "
         f"{hours} h of data, range queries over 1 h (unless noted) at step {step}s, median of {runs}",
         "",
         "| query | homeostat | prometheus | homeostat ÷ prometheus | result |",
         "|---|---|---|---|---|"]
for q, rng, med, ratio, info in rows:
    f = lambda v: f"{v * 1000:.1f} ms" if v is not None else "n/a"
    result = info.get("homeostat") if str(info.get("homeostat", "")).startswith("error") else info.get("prometheus")
    note = "" if rng == 3600 else f" (over {rng // 60} min)"
    lines.append(f"| `{q.replace('|', chr(92) + '|')}`{note} | {f(med['homeostat'])} | {f(med['prometheus'])} | "
                 f"{f'{ratio:.2f}×' if ratio else 'n/a'} | {result} |")
# The mix as a whole: the dashboard's total time, one panel after another.
tot = {n: sum(m[n] for _, _, m, _, _ in rows if m[n] is not None) for n in systems}
if all(tot.values()):
    lines.append(f"| **the whole mix** (sum of medians) | {tot['homeostat'] * 1000:.1f} ms | "
                 f"{tot['prometheus'] * 1000:.1f} ms | **{tot['homeostat'] / tot['prometheus']:.2f}×** | |")
lines += ["", "Lower is better; a ratio below 1 means homeostat answered faster."]
open(report, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"saved {report}")
PY
