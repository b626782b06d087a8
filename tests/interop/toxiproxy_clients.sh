#!/usr/bin/env bash
# The fault proxy (docs/fault-proxy.md) driven by Toxiproxy's own clients,
# unchanged: toxiproxy-python (PyPI) and toxiproxy-node-client (npm) create
# proxies, add, measure and remove a latency toxic, populate, reset and read
# errors; then the Chaos Toolkit CLI runs tests/interop/chaos/*.json with
# chaostoolkit-toxiproxy (the toxic) and chaostoolkit-prometheus (the steady
# state, read from homeostat's PromQL API). scripts/install-peers.sh puts the
# pinned clients under target/interop-deps/.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
DEPS=target/interop-deps
PY=$DEPS/venv/bin/python
require_peer toxiproxy-python "$PY" -c 'import toxiproxy'
require_peer chaostoolkit test -x "$DEPS/venv/bin/chaos"
require_peer chaostoolkit-toxiproxy "$PY" -c 'import chaostoxi, chaosprometheus, jsonpath2'
require_peer node command -v node
require_peer toxiproxy-node-client test -d "$DEPS/node_modules/toxiproxy-node-client"

HS_PORT=$(free_port); API_PORT=$(free_port); ECHO_PORT=$(free_port); SEED_PORT=$(free_port)
python3 tests/interop/toxiproxy_echo.py serve "$ECHO_PORT" &
PIDS+=($!)
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape_interval: 1s
fault_proxy:
  enabled: true
  listen: 127.0.0.1:$API_PORT
  proxies:
    - {name: seed, listen: "127.0.0.1:$SEED_PORT", upstream: "127.0.0.1:$ECHO_PORT"}
YAML
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"
wait_http "http://127.0.0.1:$API_PORT/version" 10

fails=0
echo "== toxiproxy-python"
"$PY" tests/interop/toxiproxy_python.py "$API_PORT" "127.0.0.1:$ECHO_PORT" || fails=$((fails + 1))
echo "== toxiproxy-node-client"
NODE_PATH="$DEPS/node_modules" node tests/interop/toxiproxy_node.js "$API_PORT" "127.0.0.1:$ECHO_PORT" || fails=$((fails + 1))

echo "== chaostoolkit"
# The steady state needs a self-scrape sample first.
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$HS_PORT/api/v1/query?query=up" | grep -q '"result":\[{' && break
  sleep 0.2
done
metrics_before=$(curl -fsS "http://127.0.0.1:$HS_PORT/metrics" | grep -c '^homeostat_fault_proxy_' || true)
for exp in tests/interop/chaos/toxiproxy_*.json; do
  journal="$WORK/journal-$(basename "$exp")"
  TOXIPROXY_PORT=$API_PORT PROMETHEUS_BASE_URL="http://127.0.0.1:$HS_PORT" SEED_ADDR="127.0.0.1:$SEED_PORT" \
    "$DEPS/venv/bin/chaos" --no-version-check --log-file "$WORK/chaostoolkit.log" run --journal-path "$journal" "$exp" > "$WORK/chaos.log" 2>&1 || true
  if ! "$PY" - "$journal" "http://127.0.0.1:$API_PORT" <<'PYCHECK'
import json, sys, urllib.request
j = json.load(open(sys.argv[1]))
ok = True
def check(name, cond, detail=""):
    global ok
    print(("ok: " if cond else "FAIL: ") + name + ("" if cond else f" {detail}"))
    ok = ok and cond
check("journal status completed", j["status"] == "completed", j["status"])
check("steady state met before and after", bool(j["steady_states"]["before"]["steady_state_met"])
      and bool(j["steady_states"]["after"]["steady_state_met"]), j["steady_states"])
run = {r["activity"]["name"]: r for r in j["run"]}
check("toxic added", run["add-latency"]["status"] == "succeeded" and run["add-latency"]["output"] is True, run["add-latency"])
rtt = float(run["round-trip-through-proxy"]["output"]["stdout"])
print(f"chaostoolkit: round trip through the proxy during the experiment: {rtt} ms")
check("latency in effect during the method", rtt >= 195, rtt)
check("rollback ran", [r["status"] for r in j["rollbacks"]] == ["succeeded"], j["rollbacks"])
toxics = json.load(urllib.request.urlopen(sys.argv[2] + "/proxies/seed/toxics"))
check("toxic gone after the rollback", toxics == [], toxics)
sys.exit(0 if ok else 1)
PYCHECK
  then
    fails=$((fails + 1)); cat "$WORK/chaos.log"
  fi
done
if curl -fsS "http://127.0.0.1:$HS_PORT/api/v1/chaos/proxies" | grep -q '"name":"seed"'; then
  echo "ok: GET /api/v1/chaos/proxies on the main API lists the proxies"
else
  echo "FAIL: /api/v1/chaos/proxies"; fails=$((fails + 1))
fi
echo "fault proxy series on /metrics: $metrics_before"
[ "$metrics_before" -gt 0 ] || { echo "FAIL: no homeostat_fault_proxy_* series on /metrics"; fails=$((fails + 1)); }
# A non-loopback API without allow_remote_api is a config error naming the key.
printf 'fault_proxy: {enabled: true, listen: "0.0.0.0:%s"}\n' "$API_PORT" > "$WORK/remote.yaml"
if timeout 15 "$HOMEOSTAT" serve --listen "127.0.0.1:$(free_port)" --data-dir "$WORK/hs2" --config "$WORK/remote.yaml" > "$WORK/remote.log" 2>&1; then
  echo "FAIL: a remote fault proxy API started"; fails=$((fails + 1))
elif grep -q 'fault_proxy.listen' "$WORK/remote.log" && grep -q 'allow_remote_api' "$WORK/remote.log"; then
  echo "ok: a non-loopback fault_proxy.listen is refused"
else
  echo "FAIL: refusal does not name the key"; cat "$WORK/remote.log"; fails=$((fails + 1))
fi
parts=$((5 + $(ls tests/interop/chaos/toxiproxy_*.json | wc -l)))
echo "$((parts - fails)) passed, $fails failed"
[ $fails = 0 ]
