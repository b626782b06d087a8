# Shared by the bench scripts: a scratch directory and the processes to stop
# on exit, the release binaries, free ports and waiting for readiness.

OUT=bench/out
mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

build_release() {
  echo "building release binaries..."
  cargo build --release -q --bin homeostat
  cargo build --release -q -p homeostat-loadgen
}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 600); do curl -fs -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "timeout: $1"; return 1; }
