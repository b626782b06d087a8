"""Regenerates the OTLP fixtures the Rust tests decode, with the real
OpenTelemetry Python SDK, so the decoder is checked against what an SDK
actually sends rather than against our own encoder.

    python3 -m venv /tmp/otel && /tmp/otel/bin/pip install \
        opentelemetry-sdk opentelemetry-exporter-otlp-proto-common
    /tmp/otel/bin/python crates/wire/src/otlp/testdata/generate.py

Writes sdk_request.pb (protobuf) and sdk_request.json (protobuf JSON mapping,
which OTLP/JSON follows; integers 64 bits wide come out as strings) next to
this file. Timestamps are fixed so the output is reproducible.
"""

import pathlib

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource

FIXED_NS = 1_700_000_000_123_456_789
START_NS = 1_700_000_000_000_000_000

reader = InMemoryMetricReader()
provider = MeterProvider(
    resource=Resource.create(
        {"service.name": "checkout", "service.instance.id": "i-1", "host.name": "web-1"}
    ),
    metric_readers=[reader],
)
meter = provider.get_meter("shop", "1.2")

meter.create_counter("requests", unit="1").add(7, {"method": "GET"})
meter.create_up_down_counter("queue.depth").add(-3)
duration = meter.create_histogram("http.server.request.duration", unit="s")
for v in (0.004, 0.02, 0.3, 0.3, 2.0, 12.0):
    duration.record(v, {"http.route": "/pay"})
meter.create_gauge("cpu.temperature", unit="Cel").set(61.5)

request = encode_metrics(reader.get_metrics_data())
for rm in request.resource_metrics:
    for sm in rm.scope_metrics:
        for metric in sm.metrics:
            for point in getattr(metric, metric.WhichOneof("data")).data_points:
                if point.start_time_unix_nano:
                    point.start_time_unix_nano = START_NS
                point.time_unix_nano = FIXED_NS
here = pathlib.Path(__file__).parent
(here / "sdk_request.pb").write_bytes(request.SerializeToString(deterministic=True))
(here / "sdk_request.json").write_text(json_format.MessageToJson(request, indent=1) + "\n")
