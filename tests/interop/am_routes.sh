#!/usr/bin/env bash
# Alertmanager's routing decisions, homeostat's vs amtool's (Debian's
# prometheus-alertmanager): every config under tests/alerting/routes/ must
# pass `amtool check-config`, then each label set of cases.txt goes through
# `amtool config routes test` and `homeostat alerts route-test`, and the
# printed receivers must be identical, and so must the --tree output and
# the --verify.receivers exit codes.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer amtool command -v amtool

DIR=tests/alerting/routes
passed=0; failed=0; differences=0

for cfg in "$DIR"/*.yml; do
  if out=$(amtool check-config "$cfg" 2>&1); then
    passed=$((passed + 1))
  else
    echo "FAIL: amtool check-config $cfg"; sed 's/^/    /' <<<"$out"
    failed=$((failed + 1))
  fi
  if out=$("$HOMEOSTAT" alerts route-test --config.file "$cfg" 2>&1); then
    passed=$((passed + 1))
  else
    echo "FAIL: homeostat cannot load $cfg"; sed 's/^/    /' <<<"$out"
    failed=$((failed + 1))
  fi
done

# run TOOL ARGS...: stdout and the exit code, stderr dropped (amtool warns
# there that --config.file overrides --alertmanager.url).
run() { local rc=0 out; out=$("$@" 2>/dev/null) || rc=$?; printf '%s\nexit %s' "$out" "$rc"; }

while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  cfg=$(sed 's/ *|.*//' <<<"$line")
  rest=$(sed 's/^[^|]*| *//' <<<"$line")
  # The label column is shell-quoted test data from this repository.
  eval "labels=($rest)"
  want=$(run amtool config routes test --config.file="$DIR/$cfg" "${labels[@]}")
  got=$(run "$HOMEOSTAT" alerts route-test --config.file="$DIR/$cfg" "${labels[@]}")
  if [ "$want" = "$got" ]; then
    passed=$((passed + 1))
  else
    echo "DIFF: $cfg | $rest"
    echo "    amtool:    $(tr '\n' ' ' <<<"$want")"
    echo "    homeostat: $(tr '\n' ' ' <<<"$got")"
    failed=$((failed + 1)); differences=$((differences + 1))
  fi
  # --tree prints the matching branches the same way.
  want=$(run amtool config routes test --tree --config.file="$DIR/$cfg" "${labels[@]}")
  got=$(run "$HOMEOSTAT" alerts route-test --tree --config.file="$DIR/$cfg" "${labels[@]}")
  if [ "$want" = "$got" ]; then
    passed=$((passed + 1))
  else
    echo "DIFF (--tree): $cfg | $rest"
    diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
    failed=$((failed + 1)); differences=$((differences + 1))
  fi
  # The same receivers must verify (exit 0); a wrong list must fail (exit 1).
  receivers=$(head -1 <<<"$want")
  for verify in "$receivers" "$receivers,nope"; do
    want=$(run amtool config routes test --config.file="$DIR/$cfg" --verify.receivers="$verify" "${labels[@]}")
    got=$(run "$HOMEOSTAT" alerts route-test --config.file "$DIR/$cfg" --verify.receivers="$verify" "${labels[@]}")
    if [ "$want" = "$got" ]; then
      passed=$((passed + 1))
    else
      echo "DIFF (--verify.receivers=$verify): $cfg | $rest"
      echo "    amtool:    $(tr '\n' ' ' <<<"$want")"
      echo "    homeostat: $(tr '\n' ' ' <<<"$got")"
      failed=$((failed + 1)); differences=$((differences + 1))
    fi
  done
done < "$DIR/cases.txt"

echo "$differences differences"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
