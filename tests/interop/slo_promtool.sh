#!/usr/bin/env bash
# Rule files from `homeostat slo generate` are valid Prometheus rules, and
# behave: every generated file (Sloth's conformance inputs and our own specs,
# in both modes) passes `promtool check rules`, and `promtool test rules` shows
# the page firing within minutes for a 100% outage, within the expected time
# for a 10x burn, and never for a 0.5x burn (tests/slo/checkout_test.yaml).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer promtool command -v promtool

SLOTH=../shared/conformance/sloth
passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; sed 's/^/    /' "$WORK/out" | head -20; failed=$((failed + 1)); }

# run NAME COMMAND...: passes when the command exits 0.
run() {
  local name=$1; shift
  if "$@" > "$WORK/out" 2>&1; then ok "$name"; else bad "$name"; fi
}

for spec in "$SLOTH"/in-base.yaml "$SLOTH"/in-multifile.yaml "$SLOTH"/in-openslo.yaml tests/slo/checkout.yaml tests/slo/examples/*.yaml; do
  for mode in sloth homeostat; do
    out="$WORK/$(basename "$spec" .yaml)-$mode.yaml"
    run "generate $(basename "$spec") --compat $mode" "$HOMEOSTAT" slo generate --compat "$mode" -o "$out" "$spec"
    run "promtool check rules $(basename "$out")" promtool check rules "$out"
  done
done
out="$WORK/in-base-7d.yaml"
run "generate in-base.yaml with 7d windows" "$HOMEOSTAT" slo generate --compat sloth \
  --default-period 7d --windows "$SLOTH/windows/7d.yaml" -o "$out" "$SLOTH/in-base.yaml"
run "promtool check rules in-base-7d.yaml" promtool check rules "$out"

# A bad spec is refused with the file, the field and the fix.
if "$HOMEOSTAT" slo validate "$SLOTH/in-invalid-version.yaml" > "$WORK/out" 2>&1; then
  bad "slo validate refuses an unknown version"
elif grep -q 'in-invalid-version.yaml: version: unsupported spec version' "$WORK/out"; then
  ok "slo validate refuses an unknown version"
else
  bad "slo validate names the file and field"
fi

# Burn-rate behaviour, checked by Prometheus's own rule evaluator.
"$HOMEOSTAT" slo generate -o "$WORK/checkout-rules.yaml" tests/slo/checkout.yaml
cp tests/slo/checkout_test.yaml "$WORK/"
run "promtool test rules checkout_test.yaml (outage pages, 10x pages in time, 0.5x silent)" \
  promtool test rules "$WORK/checkout_test.yaml"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
