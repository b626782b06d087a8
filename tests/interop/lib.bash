# Shared helpers for the interop scripts: free ports, waiting, cleanup, and
# the rule that a missing peer fails under CI=true instead of skipping.

PIDS=()
WORK=$(mktemp -d)
# A script may already have stopped some of its processes (restart tests);
# under `set -e` a failing kill here would turn a passing run into exit 1.
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

HOMEOSTAT=${HOMEOSTAT:-target/release/homeostat}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# require_peer NAME CHECK-COMMAND...: fail under CI, skip otherwise.
require_peer() {
  local name=$1; shift
  if ! "$@" >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
      echo "FAIL: interop peer '$name' is missing (scripts/install-peers.sh installs it)"
      echo "0 passed, 1 failed"
      exit 1
    fi
    echo "skip: interop peer '$name' is missing"
    exit 0
  fi
}

# wait_http URL [SECONDS]
wait_http() {
  local url=$1 deadline=$((SECONDS + ${2:-30}))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then echo "timed out waiting for $url"; return 1; fi
    sleep 0.2
  done
}

start_homeostat() { # PORT [extra args...]
  local port=$1; shift
  "$HOMEOSTAT" serve --listen "127.0.0.1:$port" --data-dir "$WORK/hs-data" "$@" > "$WORK/homeostat.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/-/ready" 30 || { cat "$WORK/homeostat.log"; exit 1; }
}
