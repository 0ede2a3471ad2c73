#!/usr/bin/env bash
# Usage: .ci/windows.sh [TOOLS_DIR]   (default: ../shared/tools beside the repository)
# The workspace's tests as Windows programs: TOOLS_DIR/test-windows builds every test
# binary for x86_64-pc-windows-gnu and runs it under Wine (see its header, and
# docs/windows.md for what Wine can and cannot prove). Skipped, with a notice, when the
# tool is not beside the repository. Two runs:
#   1. every test binary of the workspace (default features);
#   2. the `etw` feature with the GNU toolchain: the library's unit tests (ETW provider
#      registered, events written) and the CLI's tests (`--etw serve`); then check-windows
#      type-checks the same feature for MSVC.
# The build directory is kept outside the clone (TEST_WINDOWS_TARGET_DIR, default
# /var/cache/proxy-wifi/windows-test) so that the std-from-source build (10-16 min on two
# cores) is paid once per machine; a cold run still passes, it just takes that long.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
tools=${1:-$root/../shared/tools}
tool="$tools/test-windows"
if [ ! -x "$tool" ]; then
  echo "skipped: $tool not found, the Windows tests were not run"
  exit 0
fi
cache=${TEST_WINDOWS_TARGET_DIR:-/var/cache/proxy-wifi/windows-test}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
  echo "note: $cache is not writable; building in target/windows-test (cold)"
  cache="$root/target/windows-test"
fi
export TEST_WINDOWS_TARGET_DIR=$cache
# Incremental data would only grow the kept build directory (GBs); CI builds each crate once.
export CARGO_INCREMENTAL=0
started=$(date +%s)

logs=$cache/wine/logs
# Cases that meet a documented Wine limit print "SKIPPED (what): why" past the harness;
# this lists those of the last run (its binaries are in exes.tsv, each logs to test-NAME.log).
list_skips() {
  cut -f3 "$logs/exes.tsv" | while read -r exe; do
    grep -h '^SKIPPED (' "$logs/test-$(basename "$exe" .exe).log" 2>/dev/null || true
  done | sort -u | sed 's/^/    /'
}

echo "--- test-windows: every test binary (build dir $cache)"
"$tool"
echo "skipped cases (documented Wine limits):"; list_skips

echo "--- test-windows: --features etw (GNU toolchain), library and CLI tests"
TEST_WINDOWS_FEATURES="proxy-wifi/etw proxy-wifi-cli/etw" \
  "$tool" --exclude proxy-wifi-bench --exclude proxy-wifi-protocol --exclude proxy-wifi-guest \
  --exclude proxy-wifi-capi --lib --bins --test cli
echo "skipped cases (documented Wine limits):"; list_skips

checker="$tools/check-windows"
if [ -x "$checker" ]; then
  echo "--- check-windows: --features etw (MSVC toolchain, type-check)"
  "$checker" --features "proxy-wifi/etw proxy-wifi-cli/etw"
fi

echo "Windows tests: $(( $(date +%s) - started )) s"
