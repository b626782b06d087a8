#!/usr/bin/env bash
# The remote query backend against Debian's real Prometheus: data is pushed
# into Prometheus with remote-write, then read back through homeostat's
# remote querier (`homeostat remote-read`: remote-read for samples, the HTTP
# API for series, label names and values) and compared with what
# Prometheus's own API returns (remote_read_check.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer prometheus command -v prometheus

PROM_PORT=$(free_port)
echo "global: {scrape_interval: 1h}" > "$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-remote-write-receiver \
  > "$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 60 || { cat "$WORK/prometheus.log"; exit 1; }

# Two hours ending a minute ago: recent enough for Prometheus's head to take.
END=$(( $(date +%s) * 1000 - 60000 ))
START=$(( END - 2 * 3600 * 1000 ))
python3 tests/interop/promgen.py push "http://127.0.0.1:$PROM_PORT/api/v1/write" "$START" "$END"
if ! python3 tests/interop/remote_read_check.py "$HOMEOSTAT" "http://127.0.0.1:$PROM_PORT" "$END"; then
  echo "--- prometheus log (tail)"; tail -20 "$WORK/prometheus.log"
  exit 1
fi
