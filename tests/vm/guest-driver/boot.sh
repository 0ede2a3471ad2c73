#!/usr/bin/env bash
# The guest as the proxy-wifi-dkms package leaves it, in a wifi-lab VM: no `ip link add`
# typed, the link comes up by itself, once.
#
#   WIFI_LAB=../shared/tools/wifi-lab bash tests/vm/guest-driver/boot.sh 6.1|6.12|sid|experimental|DEB
#
# Builds the package (scripts/deb-dkms.sh) and takes from it what a system gets: the
# module source (built here for the lab's kernel with `wifi-lab --kbuild`, as DKMS
# builds it: make KVER= KDIR= modules), /etc/modprobe.d/proxy_wifi.conf,
# /usr/lib/modules-load.d/proxy_wifi.conf and the prerm script. The VM (--with-nm, a
# virtio-net NIC on an isolated user-mode network, which udev probes at boot as eth0)
# gets the module in /lib/modules/VERSION/updates/dkms and kmod's modprobe/depmod; the
# in-VM part (boot-in-vm.sh) loads what modules-load.d names, as systemd-modules-load
# does at boot, then checks the link, NetworkManager with the host's networks, module
# reloads, the NIC going and coming back, the settings file, and the package's removal.
# Skips (exit 0) without wifi-lab.
set -euo pipefail
series=${1:?usage: boot.sh 6.1|6.12|sid|experimental|linux-image DEB}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../lib/common.sh"
vm_test_setup "guest boot ($series)"

deb=$(bash "$root/scripts/deb-dkms.sh" | tail -n 1)
mkdir -p "$work/pkg" "$work/ctrl"
dpkg-deb -x "$deb" "$work/pkg"
dpkg-deb -e "$deb" "$work/ctrl"
src=$(echo "$work"/pkg/usr/src/proxy_wifi-*)
mkdir -p "$work/kbuild"
cp -r "$src"/. "$work/kbuild/"
"$WIFI_LAB" --kernel "$series" --kbuild "$work/kbuild" >"$work/kbuild.log" 2>&1 \
  || { cat "$work/kbuild.log"; echo "FAIL building the package's module for $series"; exit 1; }
module=$(tail -n 1 "$work/kbuild.log")
kmod=$(command -v kmod)

rc=0
WIFI_LAB_QEMU_EXTRA="-netdev user,id=nic0,restrict=on -device virtio-net-pci,netdev=nic0" \
"$WIFI_LAB" --kernel "$series" --with-nm --radios 4 --timeout 600 --mem 1536 \
  --add "$work/proxy-wifi:/usr/local/bin/proxy-wifi" "${nice_add[@]}" \
  --add "$kmod:/usr/local/sbin/modprobe" --add "$kmod:/usr/local/sbin/depmod" \
  --add "$kmod:/usr/local/sbin/modinfo" \
  --add "$module:/root/proxy_wifi.ko" \
  --add "$work/pkg/etc/modprobe.d/proxy_wifi.conf:/etc/modprobe.d/proxy_wifi.conf" \
  --add "$work/pkg/usr/lib/modules-load.d/proxy_wifi.conf:/usr/lib/modules-load.d/proxy_wifi.conf" \
  --add "$work/ctrl/prerm:/root/prerm" \
  --add "$src/dkms.conf:/root/dkms.conf" \
  --add "$here/helpers-in-vm.sh:/root/helpers-in-vm.sh" \
  --add "$here/boot-in-vm.sh:/root/boot-in-vm.sh" \
  --run "$IN_VM_PRELUDE
source /root/boot-in-vm.sh" || rc=$?
echo "guest boot VM test ($series): exit $rc after $(( $(date +%s) - started ))s"
exit $rc
