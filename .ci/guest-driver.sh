#!/usr/bin/env bash
# CI step for the guest driver (guest/linux): installs the kernel headers of Debian 12's
# two kernels (6.1 and 6.12), sparse and dkms when missing; builds the module for both
# with W=1 C=1 and fails on any compiler or sparse warning; checks a DKMS build; then runs
# the VM tests (tests/vm/guest-driver/run.sh, which also builds the nl-sae-connect test tool
# with libnl) on both kernels when ../shared/tools/wifi-lab exists (skipped with a notice
# otherwise).
#
#   bash .ci/guest-driver.sh            # GUEST_DRIVER_SKIP_VM=1: builds only
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wifi_lab=${WIFI_LAB:-$root/../shared/tools/wifi-lab}
started=$(date +%s)
say() { echo "[guest-driver +$(( $(date +%s) - started ))s] $*"; }

# The two kernels: the lab's (when it is there) or the newest in the archive.
kernel_version() { # 6.1|6.12
  if [ -x "$wifi_lab" ]; then
    "$wifi_lab" --kernel "$1" --kernel-version
  elif [ "$1" = 6.1 ]; then
    apt-cache depends linux-headers-amd64 2>/dev/null | sed -n 's/.*Depends: linux-headers-\(6\.1\..*-amd64\)$/\1/p' | head -n 1
  else
    apt-cache search --names-only '^linux-headers-6\.12\..*\+deb12-amd64$' 2>/dev/null \
      | awk '{print $1}' | sed 's/^linux-headers-//' | sort -V | tail -n 1
  fi
}
versions=()
for series in 6.1 6.12; do
  v=$(kernel_version "$series")
  [ -n "$v" ] || { echo "guest-driver: cannot tell the $series kernel version (no wifi-lab, nothing in apt)"; exit 1; }
  versions+=("$v")
done

needed=()
for v in "${versions[@]}"; do [ -d "/usr/src/linux-headers-$v" ] || needed+=("linux-headers-$v"); done
command -v sparse >/dev/null || needed+=(sparse)
command -v dkms >/dev/null || needed+=(dkms)
command -v make >/dev/null || needed+=(make)
if [ ${#needed[@]} -gt 0 ]; then
  say "installing ${needed[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${needed[@]}" >/tmp/guest-driver-apt.log 2>&1 \
    || { apt-get update >>/tmp/guest-driver-apt.log 2>&1 && apt-get install -y --no-install-recommends "${needed[@]}" >>/tmp/guest-driver-apt.log 2>&1; } \
    || { tail -n 20 /tmp/guest-driver-apt.log; echo "guest-driver: apt-get install ${needed[*]} failed"; exit 1; }
fi

out=${GUEST_DRIVER_OUT:-$(mktemp -d)}
for v in "${versions[@]}"; do
  b="$out/$v"
  rm -rf "$b"; mkdir -p "$b"
  cp "$root"/guest/linux/{*.c,*.h,Kbuild,Makefile} "$b/"
  say "build for $v with W=1 C=1"
  log="$b/build.log"
  if ! make -C "$b" KDIR="/usr/src/linux-headers-$v" W=1 C=1 >"$log" 2>&1; then
    cat "$log"; echo "guest-driver: build for $v failed"; exit 1
  fi
  if grep -E 'warning:|error:' "$log"; then
    echo "guest-driver: the build for $v has warnings (above)"; exit 1
  fi
  grep -q ' CHECK ' "$log" || { cat "$log"; echo "guest-driver: sparse did not run for $v"; exit 1; }
  echo "  $b/proxy_wifi.ko: no warnings ($(grep -c ' CC \[M\]\| CHECK ' "$log") compile and sparse steps)"
done

say "dkms add/build for ${versions[-1]}"
dk=$(mktemp -d)
mkdir -p "$dk/src/proxy_wifi-0.1.0" "$dk/tree"
cp "$root"/guest/linux/{*.c,*.h,Kbuild,Makefile,dkms.conf} "$dk/src/proxy_wifi-0.1.0/"
dkms add --sourcetree "$dk/src" --dkmstree "$dk/tree" -m proxy_wifi -v 0.1.0 >"$dk/dkms.log" 2>&1 \
  && dkms build --sourcetree "$dk/src" --dkmstree "$dk/tree" -m proxy_wifi -v 0.1.0 -k "${versions[-1]}" >>"$dk/dkms.log" 2>&1 \
  || { cat "$dk/dkms.log"; echo "guest-driver: dkms build failed"; exit 1; }
ls "$dk"/tree/proxy_wifi/0.1.0/"${versions[-1]}"/*/module/proxy_wifi.ko* >/dev/null \
  || { cat "$dk/dkms.log"; echo "guest-driver: dkms built no module"; exit 1; }
rm -rf "$dk"
echo "  dkms: built proxy_wifi/0.1.0 for ${versions[-1]}"

if [ "${GUEST_DRIVER_SKIP_VM:-0}" = 1 ]; then
  say "VM tests skipped (GUEST_DRIVER_SKIP_VM=1)"
elif [ ! -x "$wifi_lab" ]; then
  say "skipped: $wifi_lab not found, guest driver VM tests not run"
else
  i=0
  for series in 6.1 6.12; do
    say "VM tests on $series (${versions[$i]})"
    WIFI_LAB="$wifi_lab" bash "$root/tests/vm/guest-driver/run.sh" "$series" "$out/${versions[$i]}/proxy_wifi.ko"
    i=$((i + 1))
  done
fi
[ -n "${GUEST_DRIVER_OUT:-}" ] || rm -rf "$out"
say "done"
