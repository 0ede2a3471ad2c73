#!/usr/bin/env bash
# The guest driver against a hostile host for MINUTES (issue 26 §3), in one wifi-lab VM:
#
#   WIFI_LAB=../shared/tools/wifi-lab bash tests/vm/guest-driver/hostile-host.sh KERNEL [MINUTES] [proxy_wifi.ko]
#
# KERNEL: 6.1|6.12|sid|experimental|linux-image-...|FILE.deb (e.g. the debug kernel
# /work/shared/kernels/linux-image-6.12.118-pwdebug_6.12.118-1_amd64.deb); MINUTES: 10 by
# default. The driver is built here for the kernel with `wifi-lab --kbuild` (unless a
# module is given), `proxy-wifi-bench` (debug; CARGO_PROFILE=release for a release
# build; PROXY_WIFI_BENCH=PATH for a binary built before) goes into the VM, where
# `proxy-wifi-bench mutating-host` answers every request
# of the driver with a mutated answer and sends random notifications while scans,
# connects (iw, wpa_supplicant WPA2), disconnects, link down/up and a module reload per
# minute run in a loop; then the host turns honest (SIGUSR1) and the driver must recover.
# See hostile-host-in-vm.sh for what must hold. Prints PASS/FAIL lines and the host's
# counts (JSON); exits non-zero on failure; skips (exit 0) when wifi-lab is not there.
# SEED (environment) picks the host's random choices (default: the date, printed);
# EXTRA_TIMEOUT (600) is the VM's time beyond the loop's MINUTES; HONEST_LIMIT (5) the
# seconds the honest scan and connect may each take (a debug kernel under TCG on a busy
# machine needs more).
set -euo pipefail
series=${1:?usage: hostile-host.sh 6.1|6.12|sid|experimental|linux-image DEB [MINUTES] [proxy_wifi.ko]}
minutes=${2:-10}
module=${3:-}
seed=${SEED:-$(date +%s)}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../lib/common.sh"

root=$(cd "$here/../../.." && pwd)
WIFI_LAB=${WIFI_LAB:-$root/../shared/tools/wifi-lab}
if [ ! -x "$WIFI_LAB" ]; then
  echo "SKIP hostile host VM test: $WIFI_LAB not found"
  exit 0
fi
case $minutes in '' | *[!0-9]*) echo "MINUTES must be a whole number, not '$minutes'"; exit 2 ;; esac
cd "$root"
started=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# PROXY_WIFI_BENCH=PATH takes a binary built before (nothing is built then).
bench=${PROXY_WIFI_BENCH:-}
if [ -z "$bench" ]; then
  profile=${CARGO_PROFILE:-dev}
  cargo build -q -p proxy-wifi-bench --profile "$profile"
  dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
  bench=${CARGO_TARGET_DIR:-$root/target}/$dir/proxy-wifi-bench
fi
objcopy --strip-debug "$bench" "$work/proxy-wifi-bench" 2>/dev/null || cp "$bench" "$work/proxy-wifi-bench"

kver=$("$WIFI_LAB" --kernel "$series" --kernel-version)
[ -n "$module" ] || module=$(guest_module "$series") || exit 1
modinfo -F vermagic "$module" | grep -q "^$kver " \
  || { echo "FAIL $module is not built for $kver"; exit 1; }
nice_add=()
nice_bin=$(command -v nice || true)
[ -n "$nice_bin" ] && nice_add=(--add "$nice_bin:/usr/local/bin/nice")
echo "built in $(( $(date +%s) - started ))s; kernel $kver, $minutes minute(s), seed $seed"

rc=0
# The VM's budget: the loop, plus boot and the final checks (a KASAN/lockdep kernel under
# TCG boots in over 2 minutes, and a round of the loop can overrun the end by minutes).
"$WIFI_LAB" --kernel "$series" --timeout $(( minutes * 60 + ${EXTRA_TIMEOUT:-600} )) --mem 1536 \
  --add "$work/proxy-wifi-bench:/usr/local/bin/proxy-wifi-bench" "${nice_add[@]}" \
  --add "$module:/root/proxy_wifi.ko" \
  --add "$here/hostile-host-in-vm.sh:/root/hostile-host-in-vm.sh" \
  --run "$IN_VM_PRELUDE
MINUTES=$minutes SEED=$seed HONEST_LIMIT=${HONEST_LIMIT:-5}
source /root/hostile-host-in-vm.sh" || rc=$?
echo "hostile host VM test ($series, $kver, $minutes min, seed $seed): exit $rc after $(( $(date +%s) - started ))s"
exit $rc
