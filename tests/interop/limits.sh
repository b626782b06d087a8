#!/usr/bin/env bash
# Request limits from a client's side: a 10 KB query nested deeper than the
# evaluator's stack allows answers 400 naming the limit and the server keeps
# serving (instant and range, GET and POST); with query.max_concurrency: 1
# and no queue, parallel expensive queries get 503 naming the limit while
# one runs, and a query afterwards succeeds; `limit=` cuts the series and
# label answers with Prometheus's warning; a rule file with such a query
# stops the server from starting.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer curl curl --version
require_peer python3 python3 -c 'import json'

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

HS_PORT=$(free_port)
URL="http://127.0.0.1:$HS_PORT"
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: true              # homeostat's own series, for limit=
self_scrape_interval: 1s
query:
  max_concurrency: 1
  max_queued: 0
YAML
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"

# status BODY-FILE curl-args...: prints the HTTP status.
status() { local out=$1; shift; curl -s -o "$out" -w '%{http_code}' "$@"; }

DEEP=$(python3 -c 'print("(" * 5000 + "vector(1)" + ")" * 5000)')
for path in query query_range; do
  extra=(--data-urlencode time=0)
  [ "$path" = query_range ] && extra=(--data-urlencode start=0 --data-urlencode end=60 --data-urlencode step=15)
  for method in GET POST; do
    get=(); [ "$method" = GET ] && get=(-G)
    code=$(status "$WORK/deep.json" "${get[@]}" "$URL/api/v1/$path" --data-urlencode "query=$DEEP" "${extra[@]}")
    check "$method /api/v1/$path with 5000 nested parentheses answers 400" test "$code" = 400
    check "$method /api/v1/$path names the nesting limit" grep -q 'nested too deeply: more than 256' "$WORK/deep.json"
    code=$(status "$WORK/next.json" "$URL/api/v1/query?query=vector(7)")
    check "the next query after $method /api/v1/$path is answered" test "$code" = 200
  done
done
check "the process is still running" kill -0 "${PIDS[0]}"

# One slot, no queue: while one expensive query runs, the others get 503.
SLOW='count_over_time(vector(1)[3d:1s])'
for i in $(seq 6); do
  curl -s -o "$WORK/slow.$i.json" -w '%{http_code}\n' -G "$URL/api/v1/query" --data-urlencode "query=$SLOW" > "$WORK/slow.$i.code" &
done
wait_for_codes() { for i in $(seq 6); do until [ -s "$WORK/slow.$i.code" ]; do sleep 0.1; done; done; }
wait_for_codes
refused=$(cat "$WORK"/slow.*.code | grep -c '^503$' || true)
check "parallel queries beyond query.max_concurrency get 503 ($refused of 6)" test "$refused" -ge 1
check "a 503 names the limit" bash -c "grep -l 'query.max_concurrency' '$WORK'/slow.*.json | grep -q ."
code=$(status "$WORK/after.json" "$URL/api/v1/query?query=vector(7)")
check "a query after the burst is answered" test "$code" = 200
check "/metrics counts the refused queries" bash -c "curl -fsS '$URL/metrics' | grep -Eq '^homeostat_queries_rejected_total [1-9]'"

# limit= like Prometheus, over homeostat's own scraped series.
deadline=$((SECONDS + 20))
until curl -fsS "$URL/api/v1/label/__name__/values" | grep -q homeostat_; do
  [ $SECONDS -ge $deadline ] && break; sleep 0.5
done
for q in "labels?limit=2" "label/__name__/values?limit=2" "series?match[]=%7Bjob%3D%22homeostat%22%7D&limit=2"; do
  code=$(status "$WORK/limit.json" "$URL/api/v1/$q")
  check "$q answers 200" test "$code" = 200
  check "$q holds 2 results and Prometheus's truncation warning" python3 -c "
import json,sys; d=json.load(open('$WORK/limit.json'))
sys.exit(0 if len(d['data']) == 2 and d.get('warnings') == ['results truncated due to limit'] else 1)"
done
code=$(status "$WORK/limit.json" "$URL/api/v1/labels?limit=x")
check "a malformed limit= is 400" test "$code" = 400

# A rule file nesting too deep does not start the server.
mkdir -p "$WORK/rules"
printf 'groups:\n- name: deep\n  rules:\n  - record: deep\n    expr: "%s"\n' "$DEEP" > "$WORK/rules/deep.yml"
cat > "$WORK/deep.yaml" <<YAML
self_scrape: false
rule_files: [rules/deep.yml]
YAML
rc=0
timeout 20 "$HOMEOSTAT" serve --listen "127.0.0.1:$(free_port)" --data-dir "$WORK/deep-data" --config "$WORK/deep.yaml" > "$WORK/deep.log" 2>&1 || rc=$?
check "a rule file nested too deeply stops the start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "the refusal names the nesting limit" grep -q 'nested too deeply' "$WORK/deep.log"

if [ "$failed" -gt 0 ]; then echo "--- homeostat log"; tail -40 "$WORK/homeostat.log"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
