"""Differential PromQL test: the same queries against homeostat and
Prometheus (both holding the data promgen.py pushed), as instant queries at
several times and as range queries, compared result by result: same result
type, same series label sets, same timestamps, values equal within 1e-6
relative (NaN == NaN). Prints a pass/fail line per query and a summary;
exits non-zero on any mismatch.

Usage: promql_diff.py PROM_URL HOMEOSTAT_URL END_MS

Query times are 7 s past a 15 s boundary and samples sit 1-4 s past one, so
no sample is ever on a range or lookback boundary: Prometheus 2.x (closed
start) and 3.x (open start) agree. Subquery steps are whole minutes, so their
inner evaluation times are not on a window boundary either."""
import json
import math
import sys
import urllib.error
import urllib.parse
import urllib.request

prom, hs, end_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
REL, ABS = 1e-6, 1e-9

# The last query time: 7 s past a 15 s boundary, a minute before the data ends.
T = (end_ms // 1000 - 60) // 15 * 15 + 7
INSTANT_TIMES = [T - 95 * 60, T - 47 * 60 - 15, T - 10 * 60, T]
RANGE = (T - 60 * 60, T, 60)
AT = T - 30 * 60  # for `@` modifiers

QUERIES = [
    # selectors and counters
    'http_requests_total{job="api",code="500"}',
    'rate(http_requests_total[5m])',
    'sum by (job, code) (rate(http_requests_total[5m]))',
    'sum without (instance) (increase(http_requests_total[10m]))',
    'irate(http_requests_total{method="GET"}[2m])',
    'resets(http_requests_total[1h])',
    'rate(node_cpu_seconds_total{mode!="idle"}[5m])',
    'sum by (instance) (rate(node_cpu_seconds_total{mode="user"}[3m]))',
    'changes(temperature_celsius[15m])',
    'delta(temperature_celsius[10m])',
    'idelta(node_memory_free_bytes[5m])',
    # aggregations
    'avg by (job) (rate(http_requests_total[5m]))',
    'max by (sensor) (temperature_celsius)',
    'min without (sensor) (temperature_celsius)',
    'count by (job) (http_requests_total)',
    'group by (job) (http_requests_total)',
    'topk(3, rate(http_requests_total[5m]))',
    'bottomk(2, temperature_celsius)',
    'topk by (job) (1, sum by (job, instance) (rate(http_requests_total[5m])))',
    'quantile(0.9, temperature_celsius)',
    'quantile by (sensor) (0.25, temperature_celsius)',
    'stddev by (sensor) (temperature_celsius)',
    'stdvar(node_memory_free_bytes)',
    'count_values("code_count", count by (code) (http_requests_total))',
    # binary operators and vector matching
    'sum by (job) (rate(http_requests_total{code="500"}[5m])) / sum by (job) (rate(http_requests_total[5m]))',
    'rate(http_requests_total{code="500"}[5m]) / ignoring (code) rate(http_requests_total{code="200"}[5m])',
    'sum by (job, instance) (rate(http_requests_total[5m])) / on (job, instance) group_left sum by (job, instance) (rate(http_request_duration_seconds_count[5m]))',
    'rate(http_requests_total[5m]) * on (job, instance) group_left () (rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m]))',
    'temperature_celsius > 20',
    'temperature_celsius > bool 20',
    'node_memory_free_bytes / 1024 / 1024 - 100 * 2 ^ 2 % 7',
    '-temperature_celsius + 273.15',
    # set operators
    'temperature_celsius{sensor="a"} and on (instance) temperature_celsius{sensor="b"} > 10',
    'temperature_celsius{sensor="a"} or temperature_celsius{sensor="b"}',
    'http_requests_total unless http_requests_total{code="500"}',
    # range functions
    'avg_over_time(temperature_celsius[10m])',
    'min_over_time(temperature_celsius[10m])',
    'max_over_time(node_memory_free_bytes[30m])',
    'sum_over_time(temperature_celsius[5m])',
    'count_over_time(temperature_celsius[7m])',
    'quantile_over_time(0.75, temperature_celsius[20m])',
    'stddev_over_time(temperature_celsius[20m])',
    'last_over_time(temperature_celsius[5m])',
    'present_over_time(node_memory_free_bytes[5m])',
    'deriv(node_memory_free_bytes[15m])',
    'predict_linear(node_memory_free_bytes[30m], 3600)',
    # histograms
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
    'histogram_quantile(0.5, sum by (job, le) (rate(http_request_duration_seconds_bucket[10m])))',
    'histogram_quantile(0.9, rate(http_request_duration_seconds_bucket{job="web"}[5m]))',
    # subqueries, offset, @
    'max_over_time(rate(http_requests_total{code="200"}[5m])[30m:1m])',
    'avg_over_time(sum by (job) (rate(http_requests_total[2m]))[20m:2m])',
    'rate(http_requests_total{job="web"}[5m] offset 10m)',
    'temperature_celsius offset 7m',
    f'temperature_celsius @ {AT}',
    f'sum by (job) (rate(http_requests_total[5m] @ {AT}))',
    'temperature_celsius - temperature_celsius offset 1h',
    # label manipulation, absence
    'label_replace(temperature_celsius, "host", "$1", "instance", "(host-[0-9]+):.*")',
    'label_join(temperature_celsius, "id", "/", "instance", "sensor")',
    'absent(no_such_metric{job="x"})',
    'absent(temperature_celsius)',
    'absent_over_time(no_such_metric[5m])',
    # math and clamping
    'clamp(temperature_celsius, 0, 30)',
    'clamp_min(temperature_celsius, 10)',
    'clamp_max(temperature_celsius, 10)',
    'abs(temperature_celsius)',
    'round(temperature_celsius, 0.5)',
    'ceil(temperature_celsius) - floor(temperature_celsius)',
    'sqrt(abs(temperature_celsius))',
    'ln(node_memory_free_bytes) + log2(node_memory_free_bytes) + log10(node_memory_free_bytes)',
    'exp(temperature_celsius / 100)',
    'sgn(temperature_celsius)',
    'sin(temperature_celsius) + cos(temperature_celsius)',
    # time functions, scalars, sorting
    'time()',
    'time() - timestamp(temperature_celsius{sensor="a"})',
    'hour() + minute() + day_of_week() + day_of_month() + month() + year()',
    'minute(timestamp(temperature_celsius{sensor="a"}))',
    'scalar(sum(rate(http_requests_total[5m]))) * 2',
    'sort(temperature_celsius{sensor="b"})',
    'sort_desc(sum by (instance) (rate(http_requests_total[5m])))',
]

passed = failed = 0
failures = []


def call(base, path, params):
    url = f"{base}{path}"
    data = urllib.parse.urlencode(params).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=120) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        try:
            return json.load(e)
        except Exception:
            return {"status": "error", "error": f"HTTP {e.code}"}
    except Exception as e:  # noqa: BLE001 - report any transport failure as a mismatch
        return {"status": "error", "error": str(e)}


def close(a, b):
    fa, fb = float(a), float(b)
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    if math.isinf(fa) or math.isinf(fb):
        return fa == fb
    return abs(fa - fb) <= max(ABS, REL * max(abs(fa), abs(fb)))


def key(metric):
    return tuple(sorted(metric.items()))


def diff(p, h, ordered):
    """None if the two API answers agree, else a short explanation."""
    if p.get("status") != "success":
        return f"prometheus failed: {p.get('error')}"
    if h.get("status") != "success":
        return f"homeostat failed: {h.get('error')}"
    pd, hd = p["data"], h["data"]
    if pd["resultType"] != hd["resultType"]:
        return f"result type {hd['resultType']} != prometheus {pd['resultType']}"
    rt = pd["resultType"]
    if rt in ("scalar", "string"):
        (pt, pv), (ht, hv) = pd["result"], hd["result"]
        if float(pt) != float(ht) or not (close(pv, hv) if rt == "scalar" else pv == hv):
            return f"{hd['result']} != prometheus {pd['result']}"
        return None
    field = "value" if rt == "vector" else "values"

    def index(res):
        out = {}
        for s in res:
            k = key(s["metric"])
            if k in out:
                return None, f"duplicate series {dict(k)}"
            pts = [s[field]] if rt == "vector" else s[field]
            out[k] = pts
        return out, None

    pi, err = index(pd["result"])
    if err:
        return "prometheus: " + err
    hi, err = index(hd["result"])
    if err:
        return "homeostat: " + err
    if set(pi) != set(hi):
        only_p = [dict(k) for k in set(pi) - set(hi)][:2]
        only_h = [dict(k) for k in set(hi) - set(pi)][:2]
        return f"series differ ({len(hi)} vs prometheus {len(pi)}): only prometheus {only_p}; only homeostat {only_h}"
    if ordered:
        po = [key(s["metric"]) for s in pd["result"]]
        ho = [key(s["metric"]) for s in hd["result"]]
        if po != ho:
            return "order differs from prometheus"
    for k, pts in pi.items():
        hts = hi[k]
        if [float(t) for t, _ in pts] != [float(t) for t, _ in hts]:
            return f"{dict(k)}: timestamps differ ({len(hts)} vs prometheus {len(pts)} points)"
        for (t, pv), (_, hv) in zip(pts, hts):
            if not close(pv, hv):
                return f"{dict(k)} at {t}: {hv} != prometheus {pv}"
    return None


def run(name, path, params, ordered=False):
    global passed, failed
    p = call(prom, path, params)
    h = call(hs, path, params)
    d = diff(p, h, ordered)
    if d is None:
        passed += 1
    else:
        failed += 1
        failures.append((name, d))
    return d


print(f"{len(QUERIES)} queries x ({len(INSTANT_TIMES)} instant times + 1 range) against {prom} and {hs}")
for q in QUERIES:
    results = []
    ordered = q.startswith("sort")
    for t in INSTANT_TIMES:
        results.append(run(f"{q} @instant {t}", "/api/v1/query", {"query": q, "time": t}, ordered))
    start, end, step = RANGE
    results.append(run(f"{q} @range", "/api/v1/query_range", {"query": q, "start": start, "end": end, "step": step}))
    bad = [r for r in results if r]
    print(f"{'ok  ' if not bad else 'FAIL'} {q}" + (f"\n       {bad[0]}" if bad else ""))

print(f"\n{passed} passed, {failed} failed ({len(QUERIES)} queries)")
sys.exit(1 if failed else 0)
