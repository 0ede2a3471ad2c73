#!/usr/bin/env bash
# Fuzzes the guest driver's parsing of host bytes in user space: guest/linux/wire.c,
# compiled unchanged with a shim of the kernel helpers it uses (guest/linux/fuzz/), with
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer (Debian's clang; clang and
# libclang-rt-*-dev are installed when missing). One target per host message:
#
#   scan_answer scan_answer_legacy connect_answer disconnect_answer
#   notif_disconnected notif_signal notif_scan_results
#
# (scan_answer_legacy is the scan answer seeded with the legacy layout, which the driver
# must refuse without misreading.) Seeds come from the protocol's vectors
# (crates/proxy-wifi-protocol/tests/vectors) and the regression inputs kept in
# guest/linux/fuzz/regressions/TARGET/ (every crash found stays there and is replayed
# first). Corpora grow in target/fuzz-guest/corpus/TARGET.
#
#   scripts/fuzz-guest.sh run TARGET SECONDS   # one target
#   scripts/fuzz-guest.sh all SECONDS          # every target, SECONDS each
#   scripts/fuzz-guest.sh diff                 # the corpora through the C parser and the
#                                              # Rust protocol crate: same verdicts
#   scripts/fuzz-guest.sh coverage             # line coverage of wire.c by the corpora
# Prints execs/s and libFuzzer's coverage per target; exits non-zero on a crash, a
# sanitizer report or a differential mismatch (the input is kept in target/fuzz-guest/).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
src="$root/guest/linux"
out="${CARGO_TARGET_DIR:-$root/target}/fuzz-guest"
targets=(scan_answer scan_answer_legacy connect_answer disconnect_answer notif_disconnected notif_signal notif_scan_results)

kind_of() {
  case $1 in
    scan_answer|scan_answer_legacy) echo 1 ;; connect_answer) echo 2 ;; disconnect_answer) echo 3 ;;
    notif_disconnected) echo 4 ;; notif_signal) echo 5 ;; notif_scan_results) echo 6 ;;
    *) echo "fuzz-guest: unknown target '$1'; valid: ${targets[*]}" >&2; exit 2 ;;
  esac
}
# The vectors that seed a target (file name patterns of tests/vectors/*.hex).
seeds_of() {
  case $1 in
    scan_answer|notif_scan_results) echo 'scan_response_empty scan_response_partial scan_response_two' ;;
    scan_answer_legacy) echo 'scan_response_legacy_empty scan_response_legacy_partial scan_response_legacy_two' ;;
    connect_answer) echo 'connect_response_success connect_response_failure error_response' ;;
    disconnect_answer) echo 'disconnect_response error_response' ;;
    notif_disconnected) echo 'notif_disconnected' ;;
    notif_signal) echo 'notif_signal_quality' ;;
  esac
}

need_clang() {
  if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
    echo "installing clang and libclang-rt-14-dev"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev llvm >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev llvm >/dev/null; }
  fi
}

build() { # target: the libFuzzer binary and the replay binary
  local kind; kind=$(kind_of "$1")
  mkdir -p "$out/bin"
  local cflags=(-g -O1 -Wall -Wextra -Werror "-DPW_FUZZ_KIND=$kind" "-I$src/fuzz/include" "-I$src")
  clang "${cflags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    "$src/fuzz/host_message.c" "$src/wire.c" -o "$out/bin/$1"
  clang "${cflags[@]}" -DPW_FUZZ_REPLAY -fprofile-instr-generate -fcoverage-mapping \
    "$src/fuzz/host_message.c" "$src/wire.c" -o "$out/bin/$1.replay"
}

seed() { # target: corpus dir with the vectors and the kept regressions
  local corpus="$out/corpus/$1" name
  mkdir -p "$corpus"
  for name in $(seeds_of "$1"); do
    perl -0777 -ne 's/\s+//g; print pack("H*", $_)' "$root/crates/proxy-wifi-protocol/tests/vectors/$name.hex" >"$corpus/seed-$name"
  done
  if [ -d "$src/fuzz/regressions/$1" ]; then cp "$src/fuzz/regressions/$1"/* "$corpus/" 2>/dev/null || true; fi
}

run() { # target seconds
  need_clang
  build "$1"
  seed "$1"
  local log="$out/$1.log" corpus="$out/corpus/$1"
  if [ -d "$src/fuzz/regressions/$1" ] && [ -n "$(ls "$src/fuzz/regressions/$1")" ]; then
    "$out/bin/$1" "$src/fuzz/regressions/$1"/* >"$out/$1.regressions.log" 2>&1 \
      || { cat "$out/$1.regressions.log"; echo "FAIL $1: a kept regression input fails again"; exit 1; }
  fi
  if ! (cd "$out" && "$out/bin/$1" -max_total_time="$2" -print_final_stats=1 -max_len=8192 "$corpus" >"$log" 2>&1); then
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20
    echo "FAIL $1: crash or sanitizer report (input kept in $out; log $log)"; exit 1
  fi
  local runs secs cov
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  secs=$(sed -n 's/^stat::.*//; s/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
  cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -o 'cov: [0-9]* ft: [0-9]*' || true)
  echo "PASS $1: $runs executions in ${secs:-$2} s ($(( runs / ${secs:-$2} )) execs/s), $cov, corpus $(ls "$corpus" | wc -l) inputs"
}

diff_check() {
  need_clang
  cargo build -q -p proxy-wifi-protocol --example host_message_verdict
  local rust="${CARGO_TARGET_DIR:-$root/target}/debug/examples/host_message_verdict" t failed=0 n
  for t in "${targets[@]}"; do
    [ -x "$out/bin/$t.replay" ] || build "$t"
    seed "$t"
    local corpus="$out/corpus/$t"
    # cut and reject both mean "not applied"; the values of what is applied must agree.
    find "$corpus" -type f -print0 | LLVM_PROFILE_FILE=/dev/null xargs -0 -r "$out/bin/$t.replay" | sed 's/\tcut$/\treject/' | sort >"$out/$t.c.txt"
    find "$corpus" -type f -print0 | xargs -0 -r "$rust" "$(kind_of "$t")" | sed 's/\tcut$/\treject/' | sort >"$out/$t.rust.txt"
    n=$(wc -l <"$out/$t.c.txt")
    if cmp -s "$out/$t.c.txt" "$out/$t.rust.txt"; then
      echo "PASS diff $t: $n inputs, $(grep -c $'\taccept' "$out/$t.c.txt" || true) accepted with the same values, the rest refused by both"
    else
      echo "FAIL diff $t: the C parser and the Rust crate disagree:"
      diff "$out/$t.c.txt" "$out/$t.rust.txt" | head -n 10
      failed=1
    fi
  done
  return $failed
}

coverage() {
  need_clang
  local profiles=() t
  for t in "${targets[@]}"; do
    [ -x "$out/bin/$t.replay" ] || build "$t"
    seed "$t"
    find "$out/corpus/$t" -type f -print0 | LLVM_PROFILE_FILE="$out/$t.profraw" xargs -0 -r "$out/bin/$t.replay" >/dev/null
    profiles+=("$out/$t.profraw")
  done
  local profdata; profdata=$(ls /usr/bin/llvm-profdata* 2>/dev/null | head -n 1)
  local cov; cov=$(ls /usr/bin/llvm-cov* 2>/dev/null | head -n 1)
  "$profdata" merge -o "$out/all.profdata" "${profiles[@]}"
  local objects=()
  for t in "${targets[@]}"; do objects+=(-object "$out/bin/$t.replay"); done
  "$cov" report "${objects[@]:1}" -instr-profile="$out/all.profdata" "$src/wire.c"
}

case ${1:-} in
  run) kind_of "${2:?target}" >/dev/null; run "$2" "${3:?seconds}" ;;
  all) for t in "${targets[@]}"; do run "$t" "${2:?seconds}"; done ;;
  diff) diff_check ;;
  coverage) coverage ;;
  *) echo "usage: fuzz-guest.sh run TARGET SECONDS | all SECONDS | diff | coverage" >&2; exit 2 ;;
esac
