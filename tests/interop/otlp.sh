#!/usr/bin/env bash
# The OpenTelemetry Python SDK's OTLP/HTTP exporter pushes into homeostat;
# a hand-written OTLP/JSON payload is posted with curl. Both verified by value.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer opentelemetry-exporter-otlp-proto-http python3 -c 'import opentelemetry.exporter.otlp.proto.http.metric_exporter'

PORT=$(free_port)
start_homeostat "$PORT"
python3 tests/interop/otlp_exporter.py "http://127.0.0.1:$PORT" | tee "$WORK/otlp.out"
grep -q ' 0 failed$' "$WORK/otlp.out"

now_ns=$(python3 -c 'import time; print(time.time_ns())')
code=$(curl -s -o "$WORK/resp" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @- \
  "http://127.0.0.1:$PORT/v1/metrics" <<JSON
{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"curl"}}]},
 "scopeMetrics":[{"metrics":[{"name":"jobs.done","unit":"{jobs}","sum":{"isMonotonic":true,"aggregationTemporality":2,
 "dataPoints":[{"timeUnixNano":"$now_ns","asInt":"42","attributes":[{"key":"queue","value":{"stringValue":"q1"}}]}]}}]}]}]}
JSON
)
got=$(curl -s "http://127.0.0.1:$PORT/api/v1/debug/samples?match[]=jobs_done_total" | python3 -c \
  'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["metric"]["job"], r[0]["metric"]["queue"], r[0]["values"][0][1]) if r else print("none")')
if [ "$code" = 200 ] && [ "$got" = "curl q1 42" ]; then
  echo "ok   hand-written OTLP/JSON → jobs_done_total{job=\"curl\",queue=\"q1\"} 42"
  echo "1 passed, 0 failed"
else
  echo "FAIL hand-written OTLP/JSON: status $code, got '$got': $(cat "$WORK/resp")"
  echo "0 passed, 1 failed"
  exit 1
fi
