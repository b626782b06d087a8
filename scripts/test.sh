#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit/integration tests, interop.
# When run as root it first installs the Debian peers the interop tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  scripts/install-peers.sh
fi

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace 2>&1 | tee target/test-output.txt
if compgen -G "tests/interop/*.sh" >/dev/null; then
  cargo build --release --bin homeostat
  for t in tests/interop/*.sh; do
    echo "== interop: $t"
    bash "$t"
  done
fi
