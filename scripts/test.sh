#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit/integration tests, interop.
# When run as root it first installs the Debian peers the interop tests need.
#
# Everything is compiled once, in the `ci` profile (Cargo.toml): the test
# binaries and the `homeostat` binary the interop scripts run share one
# build. `PROFILE=release scripts/test.sh` runs the same suite on release.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target

PROFILE=${PROFILE:-ci}
case "$PROFILE" in
  dev | test) BIN_DIR=target/debug ;;
  *) BIN_DIR=target/$PROFILE ;;
esac
export HOMEOSTAT=${HOMEOSTAT:-$BIN_DIR/homeostat}

# Stage timing: every stage's wall time is printed at the end, also when a
# stage fails (CI has a fixed budget; the table shows where it went).
STAGES=()
RUN_START=$SECONDS
print_times() {
  local rc=$?
  echo
  echo "== stage times"
  for s in "${STAGES[@]}"; do echo "  $s"; done
  printf '  %-40s %5ds\n' "total" $((SECONDS - RUN_START))
  [ $rc = 0 ] || echo "  (failed with exit $rc)"
}
trap print_times EXIT
stage() { # NAME COMMAND...
  local name=$1; shift
  local t0=$SECONDS
  echo "== $name"
  local rc=0
  "$@" || rc=$?
  STAGES+=("$(printf '%-40s %5ds%s' "$name" $((SECONDS - t0)) "$([ $rc = 0 ] || echo "  FAILED")")")
  return $rc
}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  stage "install peers" scripts/install-peers.sh
fi

stage "cargo fmt --check" cargo fmt --all --check
stage "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
# One build for the tests and the binary: `cargo test` builds `homeostat`
# too (the cli's integration tests run it).
stage "cargo build (tests + binary)" cargo test --workspace --profile "$PROFILE" --no-run
run_tests() { cargo test --workspace --profile "$PROFILE" 2>&1 | tee target/test-output.txt; }
stage "cargo test" run_tests
# The test build made the binary too (the cli's integration tests run it).
# A separate `cargo build --bin homeostat` would resolve features without
# the dev-dependencies' and compile half the tree again (4 min on 2 cores).
[ -x "$HOMEOSTAT" ] || { echo "no $HOMEOSTAT after the test build"; exit 1; }

# The demo and the SLO end-to-end script spend most of their minutes
# waiting for their scenario's clock (a page has to fire), so they run
# beside the other scripts instead of after them; their output follows at
# the end.
BACKGROUND="tests/interop/demo.sh tests/interop/slo_e2e.sh tests/interop/disk_full.sh tests/interop/ha.sh tests/interop/remote_storage.sh"
run_interop() {
  local rc=0 t pids=() names=()
  for t in $BACKGROUND; do
    [ -f "$t" ] || continue
    echo "== interop: $t (in the background)"
    local log="target/interop-$(basename "$t" .sh)"
    (t0=$SECONDS; r=0; bash "$t" > "$log.log" 2>&1 || r=$?; echo $((SECONDS - t0)) > "$log.time"; exit $r) &
    pids+=($!); names+=("$t")
  done
  for t in tests/interop/*.sh; do
    case " $BACKGROUND " in *" $t "*) continue ;; esac
    local t0=$SECONDS
    echo "== interop: $t"
    if ! bash "$t"; then rc=1; echo "== interop: $t FAILED"; fi
    STAGES+=("$(printf '%-40s %5ds' "  $t" $((SECONDS - t0)))")
  done
  local i
  for i in "${!pids[@]}"; do
    local brc=0
    wait "${pids[$i]}" || brc=$?
    local log="target/interop-$(basename "${names[$i]}" .sh)"
    echo "== interop: ${names[$i]} (ran in the background)"
    cat "$log.log"
    STAGES+=("$(printf '%-40s %5ds  (background)' "  ${names[$i]}" "$(cat "$log.time" 2>/dev/null || echo 0)")")
    [ $brc = 0 ] || { rc=1; echo "== interop: ${names[$i]} FAILED"; }
  done
  return $rc
}
if compgen -G "tests/interop/*.sh" >/dev/null; then
  stage "interop" run_interop
fi
