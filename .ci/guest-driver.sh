#!/usr/bin/env bash
# CI step for the guest driver (guest/linux) on every kernel of the matrix: Debian 12's
# 6.1 and 6.12, Debian unstable's newest (sid) and experimental's. For each: a W=1 C=1
# (sparse) build that must print no warning, then the whole VM suite
# (tests/vm/guest-driver/run.sh). Then the DKMS package (scripts/deb-dkms.sh): contents,
# lintian, install on this machine (DKMS must build the module for every installed
# linux-headers-* kernel), removal; and the boot test of the installed guest
# (tests/vm/guest-driver/boot.sh) on the oldest and the newest kernel.
#
# With ../shared/tools/wifi-lab (or WIFI_LAB=PATH) the builds use its --kbuild (sid and
# experimental build in its Debian sid chroot with their gcc). Without it, only 6.1 and
# 6.12 are built, against the archive's headers, and the VM tests are skipped.
#
#   bash .ci/guest-driver.sh                          # everything
#   GUEST_DRIVER_KERNELS="6.1 sid" bash .ci/guest-driver.sh
#   GUEST_DRIVER_SKIP_VM=1 bash .ci/guest-driver.sh   # builds and the package only
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wifi_lab=${WIFI_LAB:-$root/../shared/tools/wifi-lab}
started=$(date +%s)
say() { echo "[guest-driver +$(( $(date +%s) - started ))s] $*"; }
have_lab=0; [ -x "$wifi_lab" ] && have_lab=1
kernels=(${GUEST_DRIVER_KERNELS:-6.1 6.12 sid experimental})
oldest=${kernels[0]}; newest=${kernels[-1]}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "$@" >/tmp/guest-driver-apt.log 2>&1 \
    || { apt-get update >>/tmp/guest-driver-apt.log 2>&1 && apt-get install -y --no-install-recommends "$@" >>/tmp/guest-driver-apt.log 2>&1; } \
    || { tail -n 20 /tmp/guest-driver-apt.log; echo "guest-driver: apt-get install $* failed"; exit 1; }
}
# The Debian 12 kernels' versions without the lab: the newest in the archive.
archive_version() { # 6.1|6.12
  if [ "$1" = 6.1 ]; then
    apt-cache depends linux-headers-amd64 2>/dev/null | sed -n 's/.*Depends: linux-headers-\(6\.1\..*-amd64\)$/\1/p' | head -n 1
  else
    apt-cache search --names-only '^linux-headers-6\.12\..*\+deb12-amd64$' 2>/dev/null \
      | awk '{print $1}' | sed 's/^linux-headers-//' | sort -V | tail -n 1
  fi
}

needed=()
command -v sparse >/dev/null || needed+=(sparse)
command -v make >/dev/null || needed+=(make)
[ ${#needed[@]} -eq 0 ] || { say "installing ${needed[*]}"; apt_install "${needed[@]}"; }

out=${GUEST_DRIVER_OUT:-$(mktemp -d)}
declare -A module
for k in "${kernels[@]}"; do
  b="$out/$k"
  rm -rf "$b"; mkdir -p "$b"
  cp "$root"/guest/linux/{*.c,*.h,Kbuild,Makefile} "$b/"
  log="$b/build.log"
  t0=$(date +%s)
  if [ $have_lab = 1 ]; then
    say "build for $k ($("$wifi_lab" --kernel "$k" --kernel-version)) with W=1 C=1"
    "$wifi_lab" --kernel "$k" --kbuild "$b" --kbuild-args 'W=1 C=1' >"$b/ko.txt" 2>"$log" \
      || { cat "$log"; echo "guest-driver: build for $k failed"; exit 1; }
  else
    case $k in 6.1|6.12) ;; *) say "skipped $k: its build needs $wifi_lab (a Debian sid chroot)"; continue ;; esac
    v=$(archive_version "$k")
    [ -n "$v" ] || { echo "guest-driver: cannot tell the $k kernel version"; exit 1; }
    [ -d "/usr/src/linux-headers-$v" ] || apt_install "linux-headers-$v"
    say "build for $k ($v) with W=1 C=1"
    make -C "$b" KDIR="/usr/src/linux-headers-$v" W=1 C=1 >"$log" 2>&1 \
      || { cat "$log"; echo "guest-driver: build for $k failed"; exit 1; }
  fi
  if grep -E 'warning:|error:' "$log"; then
    echo "guest-driver: the build for $k has warnings (above)"; exit 1
  fi
  grep -q ' CHECK ' "$log" || { cat "$log"; echo "guest-driver: sparse did not run for $k"; exit 1; }
  module[$k]="$b/proxy_wifi.ko"
  echo "  $k: proxy_wifi.ko, 0 warnings ($(grep -c ' CC \[M\]' "$log") files compiled, $(grep -c ' CHECK ' "$log") checked by sparse) in $(( $(date +%s) - t0 ))s"
done

say "the DKMS package: build, contents, lintian, install and removal on this machine"
bash "$root/.ci/guest-package.sh"

if [ "${GUEST_DRIVER_SKIP_VM:-0}" = 1 ]; then
  say "VM tests skipped (GUEST_DRIVER_SKIP_VM=1)"
elif [ $have_lab = 0 ]; then
  say "skipped: $wifi_lab not found, guest driver VM tests not run"
else
  for k in "${kernels[@]}"; do
    t0=$(date +%s)
    say "VM suite on $k"
    WIFI_LAB="$wifi_lab" bash "$root/tests/vm/guest-driver/run.sh" "$k" "${module[$k]}"
    echo "  $k: VM suite passed in $(( $(date +%s) - t0 ))s"
  done
  for k in $(printf '%s\n' "$oldest" "$newest" | uniq); do
    t0=$(date +%s)
    say "the installed guest's boot on $k"
    WIFI_LAB="$wifi_lab" bash "$root/tests/vm/guest-driver/boot.sh" "$k"
    echo "  $k: boot test passed in $(( $(date +%s) - t0 ))s"
  done
fi
[ -n "${GUEST_DRIVER_OUT:-}" ] || rm -rf "$out"
say "done"
