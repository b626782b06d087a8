#!/usr/bin/env bash
# Ingest benchmark: the same generated remote-write workload into homeostat,
# Prometheus (remote-write receiver) and VictoriaMetrics, one at a time on this
# machine. Prints samples/s per CPU-second of the server, bytes per sample on
# disk once data is in blocks/parts, and resident memory per active series,
# with homeostat's ratios. Knobs: SERIES (default 100000), HOURS (default 1),
# BLOCK (block duration for homeostat and Prometheus, default 20m), SYSTEMS
# (a subset of "homeostat prometheus victoriametrics").
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${SERIES:-100000}
HOURS=${HOURS:-1}
BLOCK=${BLOCK:-20m}
SYSTEMS=${SYSTEMS:-homeostat prometheus victoriametrics}
want() { [[ " $SYSTEMS " == *" $1 "* ]]; }
source bench/lib.bash

build_release
TICK=$(getconf CLK_TCK)
cpu_seconds() { awk -v t="$TICK" '{print ($14+$15)/t}' "/proc/$1/stat"; }
rss_bytes() { awk '/VmRSS/ {print $2*1024}' "/proc/$1/status"; }
metric() { curl -s "$1" | awk -v m="$2" '$1==m {print $2}' | head -1; }

# block_stats DIR META_SAMPLES_PY_EXPR -> "bytes samples" over block directories
block_stats() {
  python3 - "$1" "$2" <<'PY'
import json, os, sys
root, key = sys.argv[1], sys.argv[2]
b = s = 0
for d in os.listdir(root):
    meta = os.path.join(root, d, "meta.json")
    if not os.path.isfile(meta):
        continue
    m = json.load(open(meta))
    s += m["stats"]["numSamples"] if key == "prometheus" else m["num_samples"]
    for f in os.listdir(os.path.join(root, d)):
        p = os.path.join(root, d, f)
        if os.path.isfile(p):
            b += os.path.getsize(p)
        else:
            b += sum(os.path.getsize(os.path.join(p, x)) for x in os.listdir(p))
print(b, s)
PY
}

run_load() { # URL -> JSON summary
  ./target/release/homeostat-loadgen --url "$1" --series "$SERIES" --hours "$HOURS" --concurrency 2
}

declare -A INGEST BPS RSSPS WALL
measure() { # NAME PID URL READY_URL
  local name=$1 pid=$2 url=$3
  local c0 c1 summary samples series secs
  c0=$(cpu_seconds "$pid")
  summary=$(run_load "$url")
  c1=$(cpu_seconds "$pid")
  samples=$(echo "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["samples"])')
  series=$(echo "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["series"])')
  secs=$(echo "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  errors=$(echo "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["errors"])')
  [ "$errors" = 0 ] || echo "warning: $name answered $errors requests with errors"
  INGEST[$name]=$(python3 -c "print($samples / max($c1 - $c0, 1e-9))")
  WALL[$name]=$(python3 -c "print($samples / $secs)")
  RSSPS[$name]=$(python3 -c "print($(rss_bytes "$pid") / $series)")
  echo "$name: $samples samples in ${secs}s; server CPU $(python3 -c "print(round($c1-$c0,1))") s"
  SAMPLES=$samples
}

if want homeostat; then
echo "== homeostat"
P=$(port)
printf 'self_scrape: false\nstorage: {block_duration: %s}\n' "$BLOCK" > "$WORK/hs.yaml"
./target/release/homeostat serve --config "$WORK/hs.yaml" --listen "127.0.0.1:$P" --data-dir "$WORK/hs" > "$WORK/hs.log" 2>&1 &
HPID=$!; PIDS+=($HPID)
wait_http "http://127.0.0.1:$P/-/ready"
measure homeostat $HPID "http://127.0.0.1:$P/api/v1/write"
echo "waiting for homeostat to cut blocks (maintenance runs every minute)..."
for _ in $(seq 1 60); do
  [ "$(metric "http://127.0.0.1:$P/metrics" homeostat_tsdb_blocks)" != "0" ] && break; sleep 3
done
sleep 5
read -r b s < <(block_stats "$WORK/hs" homeostat)
BPS[homeostat]=$(python3 -c "print($b / max($s,1))")
echo "homeostat blocks: $b bytes for $s samples"
kill $HPID; wait $HPID 2>/dev/null || true
fi

if want prometheus && command -v prometheus >/dev/null; then
  echo "== prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}')"
  P=$(port)
  echo "global: {scrape_interval: 1h}" > "$WORK/prom.yml"
  prometheus --config.file="$WORK/prom.yml" --storage.tsdb.path="$WORK/prom" --web.listen-address="127.0.0.1:$P" \
    --web.enable-remote-write-receiver --storage.tsdb.min-block-duration="$BLOCK" --storage.tsdb.max-block-duration="$BLOCK" \
    > "$WORK/prom.log" 2>&1 &
  PPID_=$!; PIDS+=($PPID_)
  wait_http "http://127.0.0.1:$P/-/ready"
  measure prometheus $PPID_ "http://127.0.0.1:$P/api/v1/write"
  echo "waiting for prometheus to compact its head..."
  for _ in $(seq 1 60); do
    [ "$(metric "http://127.0.0.1:$P/metrics" prometheus_tsdb_blocks_loaded)" != "0" ] && break; sleep 3
  done
  sleep 5
  read -r b s < <(block_stats "$WORK/prom" prometheus)
  BPS[prometheus]=$(python3 -c "print($b / max($s,1))")
  echo "prometheus blocks: $b bytes for $s samples"
  kill $PPID_; wait $PPID_ 2>/dev/null || true
fi

if want victoriametrics && command -v victoria-metrics >/dev/null; then
  echo "== victoria-metrics"
  P=$(port)
  victoria-metrics -storageDataPath="$WORK/vm" -httpListenAddr="127.0.0.1:$P" -retentionPeriod=100y > "$WORK/vm.log" 2>&1 &
  VPID=$!; PIDS+=($VPID)
  wait_http "http://127.0.0.1:$P/health"
  measure victoriametrics $VPID "http://127.0.0.1:$P/api/v1/write"
  curl -fs "http://127.0.0.1:$P/internal/force_flush" >/dev/null || true
  curl -fs "http://127.0.0.1:$P/internal/force_merge" >/dev/null || true
  sleep 20
  b=$(du -sb "$WORK/vm" | awk '{print $1}')
  BPS[victoriametrics]=$(python3 -c "print($b / $SAMPLES)")
  echo "victoria-metrics data dir: $b bytes"
  kill $VPID; wait $VPID 2>/dev/null || true
fi

report=$OUT/ingest-$(date -u +%Y%m%d-%H%M%S).md
{
  echo "# Ingest benchmark $(date -u +%F) — $SERIES series (requested), $HOURS h at 10 s, block $BLOCK, $(nproc) cores"
  echo
  echo "| system | ingest samples/s per CPU-s | wall samples/s | bytes/sample on disk | RSS bytes/active series |"
  echo "|---|---|---|---|---|"
  for n in homeostat prometheus victoriametrics; do
    [ -n "${INGEST[$n]:-}" ] || continue
    printf '| %s | %.0f | %.0f | %.3f | %.0f |\n' "$n" "${INGEST[$n]}" "${WALL[$n]}" "${BPS[$n]}" "${RSSPS[$n]}"
  done
  echo
  echo "homeostat ÷ peer (ingest: higher is better; bytes and memory: lower is better):"
  echo
  echo "| peer | ingest/CPU ratio | bytes/sample ratio | memory/series ratio |"
  echo "|---|---|---|---|"
  for n in prometheus victoriametrics; do
    [ -n "${INGEST[$n]:-}" ] && [ -n "${INGEST[homeostat]:-}" ] || continue
    printf '| %s | %.2f× | %.2f× | %.2f× |\n' "$n" \
      "$(python3 -c "print(${INGEST[homeostat]}/${INGEST[$n]})")" \
      "$(python3 -c "print(${BPS[homeostat]}/${BPS[$n]})")" \
      "$(python3 -c "print(${RSSPS[homeostat]}/${RSSPS[$n]})")"
  done
} | tee "$report"
echo "saved $report"
exit 0
