# Shared by the tests/vm/*.sh scripts (sourced, not run): wifi-lab lookup, building the
# CLI once, and the helpers every in-VM script starts with.

# vm_test_setup NAME: sets root, WIFI_LAB, started, work (a temp dir removed at exit,
# holding a debug-stripped copy of the proxy-wifi binary: the debug build, or
# $PROXY_WIFI_BIN when set); exits 0 with a notice when wifi-lab is not there.
vm_test_setup() {
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
  WIFI_LAB=${WIFI_LAB:-$root/../shared/tools/wifi-lab}
  if [ ! -x "$WIFI_LAB" ]; then
    echo "SKIP $1 VM test: $WIFI_LAB not found"
    exit 0
  fi
  cd "$root"
  started=$(date +%s)
  local target=${CARGO_TARGET_DIR:-$root/target}
  # PROXY_WIFI_BIN: a binary built already (parallel CI lanes build it once).
  local bin=${PROXY_WIFI_BIN:-$target/debug/proxy-wifi}
  [ -n "${PROXY_WIFI_BIN:-}" ] || cargo build -q -p proxy-wifi-cli
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  objcopy --strip-debug "$bin" "$work/proxy-wifi" 2>/dev/null || cp "$bin" "$work/proxy-wifi"
  echo "built in $(( $(date +%s) - started ))s"
  # The host's `nice`, for the in-VM HI prefix (see IN_VM_PRELUDE).
  nice_add=()
  local nice_bin; nice_bin=$(command -v nice || true)
  [ -n "$nice_bin" ] && nice_add=(--add "$nice_bin:/usr/local/bin/nice")
  return 0
}

# guest_module SERIES: builds guest/linux for the lab kernel SERIES (wifi-lab --kbuild,
# its headers and compiler) in $work/build; prints the .ko's path.
guest_module() {
  mkdir -p "$work/build"
  cp "$root"/guest/linux/{*.c,*.h,Kbuild,Makefile} "$work/build/"
  "$WIFI_LAB" --kernel "$1" --kbuild "$work/build" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; echo "FAIL building proxy_wifi.ko for $1" >&2; return 1; }
  tail -n 1 "$work/build.log"
}

# The start of every in-VM script: timing, PASS/FAIL counting, polling, and HI, a
# higher-priority prefix for the service and the guest side (under TCG with one vCPU a
# descheduled guest can miss the driver's 10 ms notification read window).
read -r -d '' IN_VM_PRELUDE <<'EOF_PRELUDE' || true
set -u
now() { awk '{print $1}' /proc/uptime; }
T0=$(now)
t() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
passed=0; failed=0
pass() { passed=$((passed+1)); echo "PASS [$(t "$T0")s] $*"; }
fail() { failed=$((failed+1)); echo "FAIL [$(t "$T0")s] $*"; }
# WAIT_SCALE (default 1) stretches every wait_for limit: a debug kernel (KASAN, lockdep)
# under TCG is about 3 times slower.
wait_for() { # seconds command...
  local limit=$1; shift
  local end; end=$(awk -v a="$(now)" -v l="$limit" -v s="${WAIT_SCALE:-1}" 'BEGIN{print a+l*s}')
  while ! "$@" >/dev/null 2>&1; do
    awk -v a="$(now)" -v e="$end" 'BEGIN{exit !(a>e)}' && return 1
    sleep 0.2
  done
}
HI=""; nice -n -10 bash -c : 2>/dev/null && HI="nice -n -10"
echo "service and guest run with: ${HI:-normal priority}"
EOF_PRELUDE
