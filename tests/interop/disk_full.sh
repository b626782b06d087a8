#!/usr/bin/env bash
# A full disk (issue 14, item 9), on a small tmpfs as the data directory:
# remote-write until homeostat refuses with 503 (not before, not a 4xx);
# every acknowledged sample stays readable; /-/ready says why it is not
# ready; retention (2m here) deletes old blocks and writes resume on their
# own; killed and restarted on a full disk, homeostat comes up read-only
# (reads work, writes 503) and becomes writable once space is freed.
# Needs root (mount); under CI=true a failed mount fails the test.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer python3 python3 -c 'import urllib.request'
require_peer curl curl --version

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

DATA="$WORK/hs-data"
mkdir -p "$DATA"
if ! mount -t tmpfs -o size=24m tmpfs "$DATA" 2>"$WORK/mount.err"; then
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: cannot mount a tmpfs for the data dir (needs root): $(cat "$WORK/mount.err")"
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "skip: cannot mount a tmpfs (needs root): $(cat "$WORK/mount.err")"
  exit 0
fi
# Unmount before lib.bash removes $WORK (after the server is stopped).
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; umount "$DATA" 2>/dev/null || umount -l "$DATA" 2>/dev/null || true; cleanup' EXIT

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
LEDGER="$WORK/acked"; : > "$LEDGER"
# Phase A's samples expire by design (retention); checked before they do.
OLD="$WORK/acked-old"; : > "$OLD"
W() { python3 tests/interop/disk_writer.py "$@"; }
now_ms() { date +%s%3N; }
metric() { curl -fsS "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
log_has() { grep -q "$1" "$WORK/homeostat.log"; }

# Blocks of 1m, retention 2m: old blocks expire within minutes. Maintenance
# runs at start and every 60 s.
cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: false
storage:
  retention: 2m
  block_duration: 1m
YAML
serve() {
  "$HOMEOSTAT" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --config "$WORK/homeostat.yaml" >> "$WORK/homeostat.log" 2>&1 &
  HS_PID=$!
  PIDS+=("$HS_PID")
  wait_http "$URL/-/healthy" 30 || { tail -50 "$WORK/homeostat.log"; exit 1; }
}
serve
T0=$(now_ms)

# Phase A: 150 s of old samples, cut into blocks by the next maintenance run
# and past retention at the one after.
W push "$URL" disk_a 1000 50 $((T0 - 150000)) 300 10 "$OLD" > "$WORK/a.out"
check "old samples acknowledged" grep -q "status=0 acked=10" "$WORK/a.out"
deadline=$((SECONDS + 90))
until [ "$(metric homeostat_tsdb_blocks)" != "0" ] || [ $SECONDS -ge $deadline ]; do sleep 1; done
check "head cut into blocks" test "$(metric homeostat_tsdb_blocks)" != "0"
df -k "$DATA" | tail -1

# Phase B: current samples until the disk is full.
W push "$URL" disk_b 1000 50 "$(now_ms)" 1 400 "$LEDGER" > "$WORK/b.out" 2> "$WORK/b.err" || true
cat "$WORK/b.out" "$WORK/b.err"
check "writes refused with 503 once the disk is full" grep -q "status=503" "$WORK/b.out"
check "the refusal says the disk is full" grep -qi "no space left on device" "$WORK/b.err"
df -k "$DATA" | tail -1
ready=$(curl -sS -w ' %{http_code}' "$URL/-/ready")
check "/-/ready answers 503 with the reason ($ready)" bash -c '[[ "$1" == *"read-only"*503 ]]' _ "$ready"
check "metric homeostat_tsdb_writable is 0" test "$(metric homeostat_tsdb_writable)" = "0"
check "every acknowledged sample is readable on a full disk" W verify "$URL" "$LEDGER"
check "the old (block) samples too" W verify "$URL" "$OLD"

# Retention deletes the expired blocks at the next maintenance run, and
# writes resume. (The same run's head cut may use much of the freed space,
# and the failed write's cut-off tail may already have freed a page or two,
# so only a small request is sure to fit.)
deadline=$((SECONDS + 150))
until log_has "block past retention deleted" || [ $SECONDS -ge $deadline ]; do sleep 2; done
check "retention deleted expired blocks on the full disk" log_has "block past retention deleted"
resumed=no
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
  W push "$URL" "disk_c$SECONDS" 10 10 "$(now_ms)" 1 1 "$LEDGER" > "$WORK/c.out" 2>/dev/null || true
  if grep -q "acked=1" "$WORK/c.out"; then resumed=yes; break; fi
  sleep 1
done
check "writes resume after retention freed space" test "$resumed" = yes
check "/-/ready answers 200 again" curl -fsS -o /dev/null "$URL/-/ready"
check "acknowledged samples still readable" W verify "$URL" "$LEDGER"

# Phase C: fill the disk again, kill homeostat and restart it on the full
# disk, with a retention long enough that nothing expires to free space.
W push "$URL" disk_d 1000 50 "$(now_ms)" 1 400 "$LEDGER" > "$WORK/d.out" 2>/dev/null || true
check "refused again once full" grep -q "status=503" "$WORK/d.out"
kill -9 "$HS_PID"; wait "$HS_PID" 2>/dev/null || true
sed -i 's/retention: 2m/retention: 1d/' "$WORK/homeostat.yaml"
log_lines=$(wc -l < "$WORK/homeostat.log")
# Whatever the WAL's last failed write left, take the rest of the space too.
dd if=/dev/zero of="$DATA/filler" bs=64k 2>/dev/null || true
df -k "$DATA" | tail -1
serve
ready=$(curl -sS -w ' %{http_code}' "$URL/-/ready")
check "restarted on a full disk: up, not ready, says why ($ready)" bash -c '[[ "$1" == *"no space left"*503 ]]' _ "$ready"
check "the log says it started read-only" bash -c 'tail -n +$(($1 + 1)) "$2" | grep -q "storage is read-only"' _ "$log_lines" "$WORK/homeostat.log"
check "reads work read-only: every acknowledged sample" W verify "$URL" "$LEDGER"
W push "$URL" disk_e 10 10 "$(now_ms)" 1 1 "$LEDGER" > "$WORK/e.out" 2>/dev/null || true
check "writes answer 503 read-only" grep -q "status=503" "$WORK/e.out"
rm -f "$DATA/filler"
resumed=no
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
  W push "$URL" "disk_f$SECONDS" 10 10 "$(now_ms)" 1 1 "$LEDGER" > "$WORK/f.out" 2>/dev/null || true
  if grep -q "acked=1" "$WORK/f.out"; then resumed=yes; break; fi
  sleep 1
done
check "writable once space is freed" test "$resumed" = yes
check "/-/ready answers 200" curl -fsS -o /dev/null "$URL/-/ready"
check "every acknowledged sample readable at the end" W verify "$URL" "$LEDGER"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || { echo "--- homeostat log (tail)"; tail -40 "$WORK/homeostat.log"; }
[ "$failed" -eq 0 ]
