#!/usr/bin/env bash
# The built-in Alertmanager is on by default: `homeostat serve` with no
# config at all takes `amtool alert add` (Debian's prometheus-alertmanager),
# lists the alert to `amtool alert query` and GET /api/v2/alerts under the
# default route's `default` receiver, shows that route to `amtool config
# show`, and opens an incident for a severity=page alert.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer amtool command -v amtool
require_peer python3 python3 -c 'import json'

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { # NAME COMMAND...
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

HS_PORT=$(free_port)
URL="http://127.0.0.1:$HS_PORT"
# No --config: the embedded default config.
start_homeostat "$HS_PORT"
amt() { amtool --alertmanager.url="$URL" "$@" 2>/dev/null; }

# homeostat reports the Alertmanager version it implements, so amtool has
# nothing to warn about (its warning goes to stderr on every command).
no_version_warning() {
  local out
  out=$(amtool --alertmanager.url="$URL" alert query 2>&1) || return 1
  if grep -qi 'version' <<<"$out"; then echo "$out"; return 1; fi
}
check "amtool prints no version-mismatch warning" no_version_warning

check "amtool alert add succeeds without any config" \
  amt alert add alertname=NewcomerTest severity=ticket --annotation=summary=hello
check "amtool alert query lists it" bash -c "amtool --alertmanager.url='$URL' alert query NewcomerTest 2>/dev/null | grep -q NewcomerTest"
check "GET /api/v2/alerts lists it under the default receiver" python3 - "$URL" <<'PY'
import json, sys, urllib.request
alerts = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v2/alerts"))
mine = [a for a in alerts if a["labels"].get("alertname") == "NewcomerTest"]
assert len(mine) == 1, alerts
assert [r["name"] for r in mine[0]["receivers"]] == ["default"], mine[0]
assert mine[0]["annotations"]["summary"] == "hello", mine[0]
PY
check "amtool config show prints the built-in default route" \
  bash -c "amtool --alertmanager.url='$URL' config show 2>/dev/null | grep -q 'receiver: default'"

check "a severity=page alert is accepted" amt alert add alertname=NewcomerPage severity=page
# The default route waits 5s (group_wait) before the group reaches the
# incident hub.
opened() {
  curl -fsS "$URL/api/v1/incidents" | python3 -c '
import json, sys
d = json.load(sys.stdin)
items = d.get("data", d) if isinstance(d, dict) else d
assert any("NewcomerPage" in json.dumps(i) for i in items)'
}
wait_incident() {
  local deadline=$((SECONDS + 30))
  until opened 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.5
  done
}
check "the paging alert opens an incident" wait_incident
check "the ticket alert opens none" bash -c "! curl -fsS '$URL/api/v1/incidents' | grep -q NewcomerTest"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
