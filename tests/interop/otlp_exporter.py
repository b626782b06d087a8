"""Pushes metrics with the official OpenTelemetry Python SDK's OTLP/HTTP
protobuf exporter into homeostat, then checks every series and value through
homeostat's raw-sample endpoint. Prints 'N passed, N failed'."""
import json
import sys
import time
import urllib.parse
import urllib.request

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

base = sys.argv[1]
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}: {detail}")


exporter = OTLPMetricExporter(endpoint=f"{base}/v1/metrics")
reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
resource = Resource.create({"service.name": "checkout", "service.instance.id": "i-1", "deployment.environment": "interop"})
buckets = View(instrument_name="http.server.request.duration",
               aggregation=ExplicitBucketHistogramAggregation([0.005, 0.025, 0.25, 2.5]))
provider = MeterProvider(resource=resource, metric_readers=[reader], views=[buckets])
meter = provider.get_meter("interop.meter", "1.0")

requests = meter.create_counter("requests", unit="1", description="requests served")
queue = meter.create_up_down_counter("queue.depth")
latency = meter.create_histogram("http.server.request.duration", unit="s")
temperature = {"v": 21.5}
meter.create_observable_gauge("cpu.temperature", callbacks=[lambda _: [Observation(temperature["v"], {"core": "0"})]], unit="Cel")

# Three exports with known increments.
for step in range(3):
    requests.add(5, {"method": "GET"})
    requests.add(1, {"method": "POST"})
    queue.add(3 if step < 2 else -4)
    for v in (0.003, 0.02, 0.2, 1.5):
        latency.record(v, {"route": "/pay"})
    temperature["v"] += 1
    ok = provider.force_flush(10_000)
    check(ok, f"export {step + 1} flushed")
    time.sleep(1.1)
provider.shutdown()  # exports once more; the checks below read the first three


def samples(selector):
    url = f"{base}/api/v1/debug/samples?match[]={urllib.parse.quote(selector)}"
    with urllib.request.urlopen(url, timeout=10) as r:
        data = json.load(r)["data"]["result"]
    return {tuple(sorted(s["metric"].items())): [float(v) for _, v in s["values"]] for s in data}


def one(selector):
    s = samples(selector)
    return (list(s.items())[0] if len(s) == 1 else (None, [])), s


(labels, vals), _ = one('requests_total{method="GET"}')
check(vals[:3] == [5.0, 10.0, 15.0], "counter `requests` → requests_total, cumulative per export", str(vals))
lab = dict(labels or ())
check(lab.get("job") == "checkout" and lab.get("instance") == "i-1", "service.name → job, service.instance.id → instance", str(lab))
check(lab.get("otel_scope_name") == "interop.meter" and lab.get("otel_scope_version") == "1.0", "scope → otel_scope_* labels", str(lab))
check("deployment_environment" not in lab, "other resource attributes stay off ordinary series", str(lab))
(_, post), _ = one('requests_total{method="POST"}')
check(post[:3] == [1.0, 2.0, 3.0], "second attribute set is its own series", str(post))
(_, q), _ = one("queue_depth")
check(q[:3] == [3.0, 6.0, 2.0], "up-down counter → gauge queue_depth", str(q))
(_, temp), _ = one("cpu_temperature_celsius")
check(temp[:3] == [22.5, 23.5, 24.5], "observable gauge with unit Cel → cpu_temperature_celsius", str(temp))
buckets = samples('http_server_request_duration_seconds_bucket{route="/pay"}')
by_le = {dict(k)["le"]: v for k, v in buckets.items()}
check(by_le.get("+Inf", [])[:3] == [4.0, 8.0, 12.0], "histogram +Inf bucket equals the count", str(by_le.get("+Inf")))
check(by_le.get("0.005", [])[2:3] == [3.0] and by_le.get("0.25", [])[2:3] == [9.0], "histogram buckets are cumulative with le labels",
      str({k: v[-1:] for k, v in by_le.items()}))
(_, cnt), _ = one('http_server_request_duration_seconds_count{route="/pay"}')
(_, sm), _ = one('http_server_request_duration_seconds_sum{route="/pay"}')
check(cnt[2:3] == [12.0] and abs(sm[2] - 3 * 1.723) < 1e-9, "histogram _count and _sum", f"{cnt} {sm}")
(info, _), _ = one("target_info")
check(dict(info or ()).get("deployment_environment") == "interop", "resource attributes on target_info", str(info))

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
