#!/usr/bin/env bash
# The traffic proxy's overhead (docs/traffic.md): one upstream (nginx
# serving a small static body), then wrk straight to it, through homeostat's
# traffic proxy, and through nginx as a reverse proxy (proxy_pass to a
# keepalive upstream), in one run. Reports p50/p99 (wrk --latency), the
# latency added over direct, requests/s and requests per CPU-second of the
# proxy process (utime+stime from /proc/<pid>/stat before and after).
#
# wrk is closed-loop: each connection sends its next request when the
# previous answer arrives, so these are fixed-concurrency runs (1 and
# BENCH_CONNS connections); wrk2's constant-rate mode is not in Debian.
#
#   bash bench/proxy.sh            # writes bench/results/proxy-<date>.md
#   BENCH_SECS=5 BENCH_CONNS=16 bash bench/proxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.bash

SECS=${BENCH_SECS:-10}
CONNS=${BENCH_CONNS:-32}
RESULT=${BENCH_RESULT:-bench/results/proxy-$(date -u +%Y-%m-%d).md}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for tool in wrk "$NGINX"; do
  command -v "$tool" >/dev/null || { echo "missing $tool: bash scripts/install-peers.sh"; exit 1; }
done

if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$BENCH_BIN   # a binary built already (e.g. a ci build, to try the script)
else
  echo "building the release binary (cargo build --release -p homeostat-cli)..."
  cargo build --release -q -p homeostat-cli
  BIN=target/release/homeostat
fi

UP=$(port); HS=$(port); ROUTE=$(port); NG=$(port)
TICK=$(getconf CLK_TCK)

# nginx needs its own prefix, pid and temp paths to run unprivileged and
# beside any system nginx.
nginx_conf() { # dir, server block
  mkdir -p "$1/logs" "$1/tmp"
  cat >"$1/nginx.conf" <<EOF
worker_processes auto;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $1/tmp/body;
  proxy_temp_path $1/tmp/proxy;
  fastcgi_temp_path $1/tmp/fastcgi;
  uwsgi_temp_path $1/tmp/uwsgi;
  scgi_temp_path $1/tmp/scgi;
  keepalive_requests 1000000;
  $2
}
EOF
}

echo "starting the upstream (nginx, static 64-byte body) on :$UP"
nginx_conf "$WORK/up" "server { listen 127.0.0.1:$UP; location / { default_type text/plain; return 200 '$(printf 'x%.0s' $(seq 1 63))\n'; } }"
"$NGINX" -e "$WORK/up/logs/error.log" -p "$WORK/up" -c "$WORK/up/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

echo "starting nginx as a reverse proxy on :$NG"
nginx_conf "$WORK/ng" "upstream up { server 127.0.0.1:$UP; keepalive 64; }
  server { listen 127.0.0.1:$NG; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
"$NGINX" -e "$WORK/ng/logs/error.log" -p "$WORK/ng" -c "$WORK/ng/nginx.conf" -g 'daemon off;' &
NG_PID=$!
PIDS+=($NG_PID)

echo "starting homeostat with a traffic route on :$ROUTE"
cat >"$WORK/hs.yaml" <<EOF
listen: 127.0.0.1:$HS
data_dir: $WORK/data
traffic:
  routes:
    - name: bench
      listen: 127.0.0.1:$ROUTE
      endpoints: [{address: 127.0.0.1:$UP}]
EOF
"$BIN" serve --config "$WORK/hs.yaml" >"$WORK/hs.log" 2>&1 &
HS_PID=$!
PIDS+=($HS_PID)
wait_http "http://127.0.0.1:$UP/"
wait_http "http://127.0.0.1:$NG/"
wait_http "http://127.0.0.1:$ROUTE/"

# CPU seconds (user+system) of a process and its children threads; for
# nginx the master and its workers.
cpu_ticks() {
  local total=0 p
  for p in "$@" $(for q in "$@"; do pgrep -P "$q" || true; done); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}

RAW="$WORK/raw.tsv"
: >"$RAW"
run() { # name url conns pids...
  local name=$1 url=$2 conns=$3; shift 3
  echo "wrk: $name, $conns connection(s), ${SECS}s..."
  wrk -t1 -c"$conns" -d2s "$url" >/dev/null   # warm-up: connections, caches
  local before after
  before=$(cpu_ticks "$@")
  wrk -t1 -c"$conns" -d"${SECS}s" --latency "$url" >"$WORK/wrk-$name-$conns.txt"
  after=$(cpu_ticks "$@")
  python3 - "$name" "$conns" "$(( after - before ))" "$TICK" "$WORK/wrk-$name-$conns.txt" >>"$RAW" <<'PY'
import re, sys
name, conns, ticks, tick, path = sys.argv[1:]
text = open(path).read()
def us(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
total = int(re.search(r"(\d+) requests in", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
cpu = int(ticks) / int(tick)
print(f"{name}\t{conns}\t{rps:.0f}\t{us(lat['50']):.0f}\t{us(lat['99']):.0f}\t{cpu:.2f}\t{total}\t{errors.group(1) if errors else 0}")
PY
  tail -1 "$RAW" | awk -F'\t' '{printf "  %s req/s, p50 %s us, p99 %s us, proxy CPU %s s, non-2xx %s\n", $3, $4, $5, $6, $8}'
}

for c in 1 "$CONNS"; do
  run direct "http://127.0.0.1:$UP/" "$c"
  run homeostat "http://127.0.0.1:$ROUTE/" "$c" "$HS_PID"
  run nginx "http://127.0.0.1:$NG/" "$c" "$NG_PID"
done

python3 - "$RAW" "$RESULT" "$SECS" "$(nproc)" "$(uname -r)" "$("$NGINX" -v 2>&1 | sed 's/.*: //')" <<'PY'
import sys, datetime
raw, out, secs, cores, kernel, nginx = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(raw)]
by = {(r[0], r[1]): r for r in rows}
lines = [
    f"# Traffic proxy overhead — {datetime.date.today().isoformat()}",
    "",
    f"`bash bench/proxy.sh`: wrk (1 thread, closed loop, {secs} s per run after a 2 s warm-up) against an nginx",
    "upstream serving a 64-byte static body on loopback: directly, through homeostat's traffic proxy",
    f"(release build, one route, no health checks or faults), and through nginx {nginx} as a reverse proxy",
    "(`proxy_pass` to an upstream with `keepalive 64`, `worker_processes auto`). Everything shares",
    f"{cores} cores (kernel {kernel}) with wrk and the upstream, so absolute numbers are modest; the",
    "comparison is what counts. Added latency = proxied − direct at the same connection count.",
    "Requests per CPU-second = requests served ÷ (user+system CPU seconds of the proxy process during",
    "the run; for nginx the master and its workers; homeostat's whole process, its self-scrape included).",
    "wrk2 (constant rate) is not packaged in Debian: these are fixed-concurrency runs.",
    "",
    "| target | conns | req/s | p50 µs | p99 µs | added p50 µs | added p99 µs | proxy CPU s | req per CPU-s | non-2xx |",
    "|---|---|---|---|---|---|---|---|---|---|",
]
for r in rows:
    name, conns, rps, p50, p99, cpu, total, errs = r
    d = by.get(("direct", conns))
    added50 = added99 = per_cpu = "—"
    if name != "direct" and d:
        added50 = str(int(p50) - int(d[3]))
        added99 = str(int(p99) - int(d[4]))
        per_cpu = f"{int(total) / float(cpu):,.0f}" if float(cpu) > 0 else "—"
    lines.append(f"| {name} | {conns} | {int(rps):,} | {p50} | {p99} | {added50} | {added99} | {cpu if name != 'direct' else '—'} | {per_cpu} | {errs} |")
lines.append("")
for conns in sorted({r[1] for r in rows}, key=int):
    h, n, d = by.get(("homeostat", conns)), by.get(("nginx", conns)), by.get(("direct", conns))
    if not (h and n and d):
        continue
    a99h, a99n = int(h[4]) - int(d[4]), int(n[4]) - int(d[4])
    a50h, a50n = int(h[3]) - int(d[3]), int(n[3]) - int(d[3])
    eff_h = int(h[6]) / float(h[5]) if float(h[5]) else 0
    eff_n = int(n[6]) / float(n[5]) if float(n[5]) else 0
    ratio = f"{eff_h / eff_n:.2f}" if eff_n else "—"
    verdict = "met" if a99h <= a99n else "not met"
    lines.append(
        f"- {conns} connection(s): added p50 {a50h} µs (nginx {a50n} µs), added p99 {a99h} µs (nginx {a99n} µs) — "
        f"target (added p99 no worse than nginx) {verdict}; requests/s {int(h[2]) / int(n[2]):.2f}× nginx's, "
        f"requests per CPU-second {ratio}× nginx's."
    )
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "wrote $RESULT"
