#!/usr/bin/env bash
# Differential PromQL test: promgen.py pushes the same two hours of data
# (counters with resets, gauges, classic histograms; jittered timestamps)
# with remote-write into homeostat and into Debian's Prometheus, then
# promql_diff.py runs its query corpus against both /api/v1/query and
# /api/v1/query_range and compares every result.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer prometheus command -v prometheus

HS_PORT=$(free_port); PROM_PORT=$(free_port)
printf 'self_scrape: false\n' > "$WORK/homeostat.yaml"
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"

echo "global: {scrape_interval: 1h}" > "$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-remote-write-receiver \
  > "$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 60 || { cat "$WORK/prometheus.log"; exit 1; }
echo "prometheus: $(prometheus --version 2>&1 | head -1)"

END=$(( $(date +%s) * 1000 - 60000 ))
START=$(( END - 2 * 3600 * 1000 ))
python3 tests/interop/promgen.py push \
  "http://127.0.0.1:$HS_PORT/api/v1/write,http://127.0.0.1:$PROM_PORT/api/v1/write" "$START" "$END"
if ! python3 tests/interop/promql_diff.py "http://127.0.0.1:$PROM_PORT" "http://127.0.0.1:$HS_PORT" "$END"; then
  echo "--- homeostat log (tail)"; tail -20 "$WORK/homeostat.log"
  exit 1
fi
