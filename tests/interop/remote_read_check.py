"""Reads data back from a real Prometheus through homeostat's remote querier
(`homeostat remote-read`) and checks it against Prometheus's own HTTP API:
same series, same samples, same label names and values; limits and errors
named. Prints each check and 'N passed, N failed'; exits non-zero on failure.

Usage: remote_read_check.py HOMEOSTAT_BIN PROM_URL END_MS"""
import json
import math
import subprocess
import sys
import urllib.parse
import urllib.request

hs, prom, end = sys.argv[1], sys.argv[2], int(sys.argv[3])
read_url = f"{prom}/api/v1/read"
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}: {str(detail)[:600]}")


def prom_get(path, **params):
    q = urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(f"{prom}{path}?{q}", timeout=30) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]


def remote(*args, url=read_url):
    p = subprocess.run([hs, "remote-read", "--read-url", url, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def key(metric):
    return tuple(sorted(metric.items()))


def same(a, b):
    fa, fb = float(a), float(b)
    return (math.isnan(fa) and math.isnan(fb)) or fa == fb


def compare_select(name, matchers, selector, minutes, expect_empty=False):
    start = end - minutes * 60_000
    rc, out, err = remote(*sum((["-m", m] for m in matchers), []), "--start", str(start), "--end", str(end))
    if rc != 0:
        check(False, name, err)
        return
    got = {key(s["metric"]): [(t, v) for t, v in s["values"]] for s in json.loads(out)}
    data = prom_get("/api/v1/query", query=f"{selector}[{minutes}m]", time=f"{end / 1000:.3f}")
    want = {key(s["metric"]): [(round(float(t) * 1000), v) for t, v in s["values"]] for s in data["result"]}
    if set(got) != set(want):
        check(False, name, f"series differ: only remote-read {set(got) - set(want)}; only API {set(want) - set(got)}")
        return
    n = 0
    for k in want:
        a, b = got[k], want[k]
        if len(a) != len(b) or any(ta != tb or not same(va, vb) for (ta, va), (tb, vb) in zip(a, b)):
            check(False, name, f"{dict(k)}: remote-read {a[:3]}... vs API {b[:3]}...")
            return
        n += len(a)
    check((n == 0) == expect_empty, f"{name}: {len(want)} series, {n} samples identical",
          "samples found" if expect_empty else "no samples")


compare_select("select by name and label", ['__name__="http_requests_total"', 'job="api"'],
               'http_requests_total{job="api"}', 30)
compare_select("select with regex and negative matchers",
               ['__name__=~"http_request_duration_seconds_(bucket|sum)"', 'instance!~"web-[0-2]:8080"', 'le!="+Inf"'],
               '{__name__=~"http_request_duration_seconds_(bucket|sum)",instance!~"web-[0-2]:8080",le!="+Inf"}', 60)
compare_select("select a float counter over the whole span", ['__name__="node_cpu_seconds_total"', 'instance="host-3:9100"'],
               'node_cpu_seconds_total{instance="host-3:9100"}', 120)
compare_select("select matching nothing", ['__name__="no_such_metric"'], "no_such_metric", 30, expect_empty=True)

start = end - 3600_000
rc, out, err = remote("-m", 'job="node"', "--what", "series", "--start", str(start), "--end", str(end))
want = prom_get("/api/v1/series", **{"match[]": '{job="node"}', "start": start / 1000, "end": end / 1000})
check(rc == 0 and sorted(map(key, json.loads(out))) == sorted(map(key, want)),
      f"series via /api/v1/series ({len(want)} series)", err or out[:300])
rc, out, err = remote("-m", 'job="api"', "--what", "labels", "--start", str(start), "--end", str(end))
want = prom_get("/api/v1/labels", **{"match[]": '{job="api"}', "start": start / 1000, "end": end / 1000})
check(rc == 0 and json.loads(out) == sorted(want), f"label names {want}", err or out)
rc, out, err = remote("-m", '__name__="temperature_celsius"', "--what", "values:instance", "--start", str(start), "--end", str(end))
want = prom_get("/api/v1/label/instance/values", **{"match[]": "temperature_celsius", "start": start / 1000, "end": end / 1000})
check(rc == 0 and json.loads(out) == sorted(want), f"label values ({len(want)})", err or out)

rc, out, err = remote("-m", '__name__="http_requests_total"', "--max-samples", "100", "--start", str(start), "--end", str(end))
check(rc != 0 and "max_samples" in err and "100" in err, "max_samples refused with the limit named", err or out[:200])
rc, out, err = remote("-m", 'job="api"', "--api-url", prom, url=f"{prom}/api/v1/nope")
check(rc != 0 and "/api/v1/nope" in err and "404" in err, "HTTP error names URL and status", err)
rc, out, err = remote("-m", 'job="api"', url="http://127.0.0.1:1/api/v1/read")
check(rc != 0 and "127.0.0.1:1/api/v1/read" in err, "connection error names URL", err)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
