#!/usr/bin/env bash
# Prometheus's own client, promtool (Debian's prometheus package), queries
# homeostat's HTTP API: instant and range queries of `up` (homeostat scrapes
# itself), label values, and a malformed expression that must come back as
# Prometheus's bad_data error.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer promtool command -v promtool

HS_PORT=$(free_port)
URL="http://127.0.0.1:$HS_PORT"
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: true
self_scrape_interval: 1s
YAML
start_homeostat "$HS_PORT" --config "$WORK/homeostat.yaml"

# Wait for the first self-scrape to have written `up`.
deadline=$((SECONDS + 20))
until curl -fsS "$URL/api/v1/series?match[]=up" | grep -q '"job":"homeostat"'; do
  if [ $SECONDS -ge $deadline ]; then echo "no 'up' series after 20 s"; tail -20 "$WORK/homeostat.log"; exit 1; fi
  sleep 0.5
done

passed=0; failed=0
# check NAME WANT-EXIT(0|nonzero) REGEX... -- COMMAND...: the exit status and
# every regex (each matched against some line of the output).
check() {
  local name=$1 want=$2; shift 2
  local regexes=()
  while [ "$1" != "--" ]; do regexes+=("$1"); shift; done
  shift
  local out rc=0 ok=1
  out=$("$@" 2>&1) || rc=$?
  if [ "$want" = 0 ] && [ $rc -ne 0 ]; then ok=0; fi
  if [ "$want" = nonzero ] && [ $rc -eq 0 ]; then ok=0; fi
  for r in "${regexes[@]}"; do grep -Eq -- "$r" <<<"$out" || ok=0; done
  if [ $ok = 1 ]; then
    echo "ok: $name"; passed=$((passed + 1))
  else
    echo "FAIL: $name (exit $rc, wanted $want and output matching ${regexes[*]})"
    sed 's/^/    /' <<<"$out" | head -20
    failed=$((failed + 1))
  fi
}

# One second ahead: `date +%s` truncates, and the first scrape may carry a
# timestamp later in the current second; points after it still see it.
now=$(($(date +%s) + 1))
# promtool prints e.g. `up{instance="127.0.0.1:1234", job="homeostat"} => 1 @[1700000000]`.
check "promtool query instant up" 0 'up\{.*job="homeostat".*\} => 1 @' -- \
  promtool query instant "$URL" 'up'
# And for a range, the series line, then one `value @[time]` line per point.
check "promtool query range up" 0 '^up\{.*job="homeostat".*\} =>$' '^1 @\[[0-9.]+\]$' -- \
  promtool query range --start=$((now - 60)) --end="$now" --step=15s "$URL" 'up'
check "promtool query labels __name__" 0 '^up$' -- \
  promtool query labels "$URL" '__name__'
# The error envelope reaches promtool intact: type and the parser's message.
check "promtool sees bad_data for a malformed expression" nonzero 'bad_data.*invalid parameter "query"' -- \
  promtool query instant "$URL" 'sum(up'

echo "$passed passed, $failed failed"
if [ $failed -gt 0 ]; then
  echo "--- homeostat log (tail)"; tail -20 "$WORK/homeostat.log"
  exit 1
fi
