#!/usr/bin/env bash
# Runs one cargo-fuzz target of the protocol crate for a number of seconds.
#   scripts/fuzz.sh decode_request 600
#   scripts/fuzz.sh decode_response 30
# The corpus starts from fuzz/seeds/<target> (the golden vectors). Works on the stable
# toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags. Installs cargo-fuzz
# when it is missing.
set -euo pipefail
target=${1:?usage: scripts/fuzz.sh decode_request|decode_response SECONDS}
seconds=${2:-60}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root/fuzz"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
mkdir -p "corpus/$target"
cp -n "seeds/$target"/* "corpus/$target/" 2>/dev/null || true
export RUSTC_BOOTSTRAP=1
cargo fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=4096 -print_final_stats=1
