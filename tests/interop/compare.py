"""Compares the samples Prometheus stored with what it remote-wrote into
homeostat, sample by sample, and checks homeostat's own scrape of the same
target. Prints each check and 'N passed, N failed'; exits non-zero on failure."""
import json
import math
import sys
import time
import urllib.parse
import urllib.request

prom, hs = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}: {detail}")


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def key(metric):
    return tuple(sorted(metric.items()))


def same(a, b):
    fa, fb = float(a), float(b)
    return (math.isnan(fa) and math.isnan(fb)) or fa == fb


now = time.time()
sel = urllib.parse.quote('{job="target"}')
RANGE = urllib.parse.quote('{job="target"}[1h]')
OWN = urllib.parse.quote('{job="homeostat_scrape"}')
p = get(f"{prom}/api/v1/query?query={RANGE}&time={now}")
prom_series = {key(s["metric"]): [(float(t), v) for t, v in s["values"]] for s in p["data"]["result"]}
h = get(f"{hs}/api/v1/debug/samples?match[]={sel}")
hs_series = {key(s["metric"]): [(float(t), v) for t, v in s["values"]] for s in h["data"]["result"]}

check(len(prom_series) >= 8, "prometheus scraped the target", f"{len(prom_series)} series")
check(set(prom_series) == set(hs_series), "homeostat holds exactly the series prometheus remote-wrote",
      f"only in prometheus: {set(prom_series) - set(hs_series)}; only in homeostat: {set(hs_series) - set(prom_series)}")

total = matched = mismatched = extra = 0
examples = []
for k, psamples in prom_series.items():
    hsamples = dict(hs_series.get(k, []))
    hs_last = max(hsamples) if hsamples else 0
    for t, v in psamples:
        if t > hs_last:
            continue  # not yet sent by prometheus's remote-write queue
        total += 1
        if t not in hsamples:
            examples.append(f"{dict(k)} missing t={t}")
        elif same(hsamples[t], v):
            matched += 1
        else:
            mismatched += 1
            examples.append(f"{dict(k)} t={t} prometheus={v} homeostat={hsamples[t]}")
    ptimes = {t for t, _ in psamples}
    extra += sum(1 for t in hsamples if t not in ptimes and t <= max(ptimes))
all_prom = sum(len(v) for v in prom_series.values())
check(total >= 0.9 * all_prom and total > 50, "bulk of prometheus's samples already delivered",
      f"{total} of {all_prom} compared")
check(mismatched == 0 and matched == total, f"{matched}/{total} samples identical (timestamp and value)",
      "; ".join(examples[:5]))
check(extra == 0, "homeostat has no samples prometheus lacks", f"{extra} extra")

h = get(f"{hs}/api/v1/debug/samples?match[]={urllib.parse.quote('interop_vanishing')}&stale=1")
by_job = {s["metric"]["job"]: [v for _, v in s["values"]] for s in h["data"]["result"]}
check(by_job.get("target", [])[-1:] == ["stale"], "prometheus's stale marker for the vanished series arrived",
      str(by_job.get("target", [])[-3:]))
check(by_job.get("homeostat_scrape", [])[-1:] == ["stale"], "homeostat's own scrape stale-marked the vanished series",
      str(by_job.get("homeostat_scrape", [])[-3:]))

h = get(f"{hs}/api/v1/debug/samples?match[]={OWN}")
own = {s["metric"]["__name__"]: s for s in h["data"]["result"]}
prom_names = {dict(k)["__name__"] for k in prom_series}
check(prom_names - {"interop_vanishing"} <= set(own), "homeostat's scrape produced every metric prometheus's did",
      str(prom_names - set(own)))
ups = [v for _, v in own.get("up", {}).get("values", [])]
check(len(ups) >= 5 and set(ups) == {"1"}, "homeostat's up series is 1 on every scrape", str(ups[:10]))
info = own.get("interop_info", {}).get("metric", {})
check(info.get("path") == "C:\\tmp" and info.get("quote") == 'say "hi"', "escaped label values parsed like prometheus", str(info))
reqs = [s for s in h["data"]["result"] if s["metric"]["__name__"] == "interop_requests_total" and s["metric"].get("code") == "200"]
vals = [float(v) for _, v in reqs[0]["values"]] if reqs else []
check(len(vals) >= 5 and all(b > a for a, b in zip(vals, vals[1:])), "scraped counter increases on every scrape", str(vals[:8]))

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
