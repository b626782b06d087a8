#!/usr/bin/env bash
# PromQL parse errors: every query of crates/promql/tests/it/parse_errors.jsonl
# (malformed ones of every kind, and a few valid ones) goes to Debian's
# Prometheus and to homeostat's /api/v1/query; the position and message of
# each error must be the same, except for the rows that name a known
# difference and its reason. UPDATE=1 first records Prometheus's answers into
# the table.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer prometheus command -v prometheus

HS_PORT=$(free_port); PROM_PORT=$(free_port)
printf 'self_scrape: false\n' > "$WORK/homeostat.yaml"
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"

echo "global: {scrape_interval: 1h}" > "$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" > "$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 60 || { cat "$WORK/prometheus.log"; exit 1; }
echo "prometheus: $(prometheus --version 2>&1 | head -1)"

if [ "${UPDATE:-}" = "1" ]; then
  python3 tests/interop/promql_errors.py record "http://127.0.0.1:$PROM_PORT"
fi
python3 tests/interop/promql_errors.py check "http://127.0.0.1:$PROM_PORT" "http://127.0.0.1:$HS_PORT"
