#!/usr/bin/env bash
# The proxy_wifi guest driver (guest/linux) in a wifi-lab VM, one boot per kernel:
#
#   WIFI_LAB=../shared/tools/wifi-lab bash tests/vm/guest-driver/run.sh 6.1|6.12|sid|experimental|DEB [proxy_wifi.ko]
#
# GUEST_WAIT_SCALE=N stretches the in-VM waits N times (3 for the debug kernel).
# GUEST_PARTS picks the optional parts besides the core ones (see in-vm.sh): default
# "simulated chain" (everything); "" runs the core parts 1, 3, 6 and 7 only.
# Without a module argument the driver is built here for the kernel with
# `wifi-lab --kbuild` (its headers, its compiler). nl-sae-connect.c (the SAE-offload connect a
# supplicant would send) is built here with libnl (libnl-3-dev, libnl-genl-3-dev and
# pkg-config are installed when missing) and warnings are errors. In the VM (booted --with-nm --radios 4) the
# `proxy-wifi` service serves over vsock loopback and the driver is checked end to end;
# see in-vm.sh for the list. Prints PASS/FAIL lines with timings; exits non-zero on
# failure; skips (exit 0 with a notice) when wifi-lab is not there.
set -euo pipefail
series=${1:?usage: run.sh 6.1|6.12|sid|experimental|linux-image DEB [proxy_wifi.ko]}
module=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../lib/common.sh"
vm_test_setup "guest driver ($series)"

kver=$("$WIFI_LAB" --kernel "$series" --kernel-version)
[ -n "$module" ] || module=$(guest_module "$series") || exit 1
# The SAE connect tool; wifi-lab --add copies its libnl libraries along.
if ! pkg-config --exists libnl-genl-3.0 2>/dev/null; then
  echo "installing libnl-3-dev libnl-genl-3-dev pkg-config"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libnl-3-dev libnl-genl-3-dev pkg-config \
    >"$work/apt.log" 2>&1 \
    || { apt-get update >>"$work/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y \
      --no-install-recommends libnl-3-dev libnl-genl-3-dev pkg-config >>"$work/apt.log" 2>&1; } \
    || { tail -n 20 "$work/apt.log"; echo "FAIL installing libnl-3-dev libnl-genl-3-dev pkg-config"; exit 1; }
fi
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -Wall -Wextra -Werror -O2 $(pkg-config --cflags libnl-genl-3.0) -o "$work/nl-sae-connect" \
  "$here/nl-sae-connect.c" $(pkg-config --libs libnl-genl-3.0) \
  || { echo "FAIL building nl-sae-connect"; exit 1; }
modinfo -F vermagic "$module" | grep -q "^$kver " \
  || { echo "FAIL $module is not built for $kver"; exit 1; }

# The lab's NetworkManager binaries come from its cache; an older wifi-lab may lack them.
nm=(--with-nm)
"$WIFI_LAB" --help 2>/dev/null | grep -q -- --with-nm || nm=()
# GUEST_PARTS (default "simulated chain"): the optional parts; without "chain" the lab
# needs no NetworkManager.
parts=${GUEST_PARTS-simulated chain}
case " $parts " in *" chain "*) ;; *) nm=() ;; esac

# setpriv: the service run without CAP_NET_BIND_SERVICE (section 3).
setpriv_add=()
setpriv_bin=$(command -v setpriv || true)
[ -n "$setpriv_bin" ] && setpriv_add=(--add "$setpriv_bin:/usr/local/bin/setpriv")

rc=0
"$WIFI_LAB" --kernel "$series" "${nm[@]}" --radios 4 --timeout "${GUEST_VM_TIMEOUT:-1200}" --mem 1536 \
  --add "$work/proxy-wifi:/usr/local/bin/proxy-wifi" "${nice_add[@]}" "${setpriv_add[@]}" \
  --add "$module:/root/proxy_wifi.ko" \
  --add "$work/nl-sae-connect:/usr/local/bin/nl-sae-connect" \
  --add "$here/networks.toml:/root/networks.toml" \
  --add "$here/in-vm.sh:/root/in-vm.sh" \
  --add "$here/helpers-in-vm.sh:/root/helpers-in-vm.sh" \
  --run "export WAIT_SCALE=${GUEST_WAIT_SCALE:-1} GUEST_PARTS='$parts'

$IN_VM_PRELUDE
source /root/in-vm.sh" || rc=$?
echo "guest driver VM test ($series, $kver): exit $rc after $(( $(date +%s) - started ))s"
exit $rc
