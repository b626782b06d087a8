#!/usr/bin/env bash
# A leader cut off from PostgreSQL stops acting before its lease ends. The
# leader reaches PostgreSQL through a TCP proxy that is then frozen
# (SIGSTOP: its connections hang, as in a partition); the follower talks
# to PostgreSQL directly. The leader's homeostat_leader drops to 0 before
# the follower takes over, and within one lease of the partition.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
source tests/interop/pg.bash
require_peer curl command -v curl

PASS=0; FAIL=0
ok() { echo "ok: $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL: $1"; FAIL=$((FAIL + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

start_pg >/dev/null || { echo "FAIL: PostgreSQL did not start"; echo "0 passed, 1 failed"; exit 1; }
python3 tests/interop/tcp_proxy.py "127.0.0.1:$PG_PORT" > "$WORK/proxy.port" &
PROXY=$!; PIDS+=($PROXY)
for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
PROXY_PORT=$(cat "$WORK/proxy.port")

config() { # NAME PORT
  cat > "$WORK/$1.yaml" <<YAML
self_scrape: false
state: {backend: postgres, dsn: "postgres://postgres@127.0.0.1:$2/homeostat", pool_size: 2, statement_timeout: 3s, connect_timeout: 2s}
cluster: {lease_duration: 6s, retry_interval: 500ms}
YAML
}
config a "$PROXY_PORT"
config b "$PG_PORT"
declare -A PORT
PORT[a]=$(free_port); PORT[b]=$(free_port)
url() { echo "http://127.0.0.1:${PORT[$1]}"; }
serve() {
  "$HOMEOSTAT" serve --config "$WORK/$1.yaml" --listen "127.0.0.1:${PORT[$1]}" --data-dir "$WORK/data-$1" >> "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  wait_http "$(url "$1")/-/ready" 30 || { tail -20 "$WORK/$1.log"; exit 1; }
}
leading() { curl -fsS -m 1 "$(url "$1")/metrics" 2>/dev/null | grep -x 'homeostat_leader 1' >/dev/null; }

serve a
for _ in $(seq 50); do leading a && break; sleep 0.1; done
serve b
check "a (through the proxy) leads, b follows" bash -c "$(declare -f leading url); declare -A PORT=([a]=${PORT[a]} [b]=${PORT[b]}); leading a && ! leading b"

kill -STOP "$PROXY"
CUT=$(python3 -c 'import time; print(time.time())')
A_STOPPED=""; B_LED=""
deadline=$((SECONDS + 20))
while [ $SECONDS -lt $deadline ] && { [ -z "$A_STOPPED" ] || [ -z "$B_LED" ]; }; do
  now=$(python3 -c 'import time; print(time.time())')
  [ -z "$A_STOPPED" ] && ! leading a && A_STOPPED=$now
  [ -z "$B_LED" ] && leading b && B_LED=$now
  sleep 0.1
done
echo "partition at 0 s: a stopped acting at +$(python3 -c "print(round(${A_STOPPED:-0} - $CUT, 1))") s, b led at +$(python3 -c "print(round(${B_LED:-0} - $CUT, 1))") s"
check "the partitioned leader stops acting" test -n "$A_STOPPED"
check "the follower takes over" test -n "$B_LED"
check "the old leader stopped before the new one started" python3 -c "assert ${A_STOPPED:-1e18} < ${B_LED:-0}"
check "and within its 6 s lease of the partition" python3 -c "assert ${A_STOPPED:-1e18} - $CUT < 6"
kill -CONT "$PROXY"
deadline=$((SECONDS + 15))
until curl -fsS -m 2 "$(url a)/api/v1/status/cluster" 2>/dev/null | grep -q '"role":"follower"'; do
  [ $SECONDS -ge $deadline ] && break; sleep 0.2
done
check "after the partition heals, a follows b" bash -c "curl -fsS -m 2 '$(url a)/api/v1/status/cluster' | grep -q '\"role\":\"follower\"'"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
