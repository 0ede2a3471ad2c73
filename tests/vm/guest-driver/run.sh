#!/usr/bin/env bash
# The proxy_wifi guest driver (guest/linux) in a wifi-lab VM, one boot per kernel:
#
#   WIFI_LAB=../shared/tools/wifi-lab bash tests/vm/guest-driver/run.sh 6.1|6.12 [proxy_wifi.ko]
#
# Without a module argument the driver is built here against the kernel's headers
# (linux-headers-$(wifi-lab --kernel SERIES --kernel-version) must be installed;
# .ci/guest-driver.sh installs them). In the VM (booted --with-nm --radios 4) the
# `proxy-wifi` service serves over vsock loopback and the driver is checked end to end;
# see in-vm.sh for the list. Prints PASS/FAIL lines with timings; exits non-zero on
# failure; skips (exit 0 with a notice) when wifi-lab is not there.
set -euo pipefail
series=${1:?usage: run.sh 6.1|6.12 [proxy_wifi.ko]}
module=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../lib/common.sh"
vm_test_setup "guest driver ($series)"

kver=$("$WIFI_LAB" --kernel "$series" --kernel-version)
if [ -z "$module" ]; then
  mkdir -p "$work/build"
  cp "$root"/guest/linux/{*.c,*.h,Kbuild,Makefile} "$work/build/"
  make -s -C "$work/build" KDIR="/usr/src/linux-headers-$kver" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log"; echo "FAIL building proxy_wifi.ko for $kver"; exit 1; }
  module="$work/build/proxy_wifi.ko"
fi
modinfo -F vermagic "$module" | grep -q "^$kver " \
  || { echo "FAIL $module is not built for $kver"; exit 1; }

# The lab's NetworkManager binaries come from its cache; an older wifi-lab may lack them.
nm=(--with-nm)
"$WIFI_LAB" --help 2>/dev/null | grep -q -- --with-nm || nm=()

rc=0
"$WIFI_LAB" --kernel "$series" "${nm[@]}" --radios 4 --timeout 900 --mem 1536 \
  --add "$work/proxy-wifi:/usr/local/bin/proxy-wifi" "${nice_add[@]}" \
  --add "$module:/root/proxy_wifi.ko" \
  --add "$here/networks.toml:/root/networks.toml" \
  --add "$here/in-vm.sh:/root/in-vm.sh" \
  --run "$IN_VM_PRELUDE
source /root/in-vm.sh" || rc=$?
echo "guest driver VM test ($series, $kver): exit $rc after $(( $(date +%s) - started ))s"
exit $rc
