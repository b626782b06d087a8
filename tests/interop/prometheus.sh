#!/usr/bin/env bash
# Debian's prometheus scrapes a target and remote-writes into homeostat, which
# also scrapes the same target; compare.py checks them sample by sample.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer prometheus command -v prometheus

HS_PORT=$(free_port); PROM_PORT=$(free_port); TARGET_PORT=$(free_port)
python3 tests/interop/target.py "$TARGET_PORT" 8 &
PIDS+=($!)
wait_http "http://127.0.0.1:$TARGET_PORT/metrics"

cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
scrape_configs:
  - job_name: homeostat_scrape
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs: [{targets: ['127.0.0.1:$TARGET_PORT']}]
YAML
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"

cat > "$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: target
    static_configs: [{targets: ['127.0.0.1:$TARGET_PORT']}]
remote_write:
  - url: http://127.0.0.1:$HS_PORT/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" > "$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 60 || { cat "$WORK/prometheus.log"; exit 1; }

echo "scraping and remote-writing for 20 s..."
sleep 20
if ! python3 tests/interop/compare.py "http://127.0.0.1:$PROM_PORT" "http://127.0.0.1:$HS_PORT"; then
  echo "--- prometheus log (tail)"; tail -20 "$WORK/prometheus.log"
  echo "--- homeostat log (tail)"; tail -20 "$WORK/homeostat.log"
  exit 1
fi
