#!/usr/bin/env bash
# The guest data-path benchmark (issue 27 §1): in ONE wifi-lab boot, over the same lower
# device (a veth pair whose peer sits in a network namespace running `iperf3 -s`), three
# set-ups measured alternately, ROUNDS rounds each:
#   (a) the veth alone;
#   (b) proxy_wifi's interface on it (`ip link add link eth0 name pw0 type proxy_wifi`,
#       connected to a simulated network of `proxy-wifi serve` over vsock loopback,
#       traffic routed through pw0);
#   (c) mainline's virt_wifi on it (`ip link add link eth0 name vwifi0 type virt_wifi`,
#       connected to its fake network).
# Each round: TCP throughput both ways (iperf3, -R), 1 and 4 streams; UDP datagrams/s
# with a 64-byte payload; ping RTT p50/p99 (ping -i 0.01 -c 500). Printed as a table of
# medians over the rounds and each one's ratio to (a). Before the rounds: what pw0
# offloads (ethtool -k), frames delivered while pw0 is not connected, and intact data
# through pw0 (ping -s 8000, fragmented; a TCP transfer whose sha256 is compared).
#
#   bash tests/vm/guest-driver/datapath.sh 6.1|6.12|sid|experimental|linux-image DEB [ROUNDS]
#
# ROUNDS defaults to 3. DATAPATH_SECONDS (default 5) is each iperf3 run's length.
# GUEST_WAIT_SCALE=N stretches the in-VM waits N times (3 for the debug kernel).
# DATAPATH_SMOKE=1 runs only the correctness checks (a short boot, no rounds, no
# virt_wifi: about 1 minute in the VM).
# DATAPATH_BASE=REV (a git revision) adds a fourth set-up: proxy_wifi built from REV's
# guest/linux, loaded in place of the tree's for its turn (before/after in one boot).
# Not part of CI (about 2 minutes a round under TCG).
#
# virt_wifi: Debian's kernels do not build it (CONFIG_VIRT_WIFI is not set), so it is
# built here, out of tree with `wifi-lab --kbuild`, from virt_wifi.c of the kernel's own
# Debian linux-source-X.Y package (downloaded with apt-get into
# ~/.cache/proxy-wifi-datapath; sid and experimental sources through wifi-lab's private
# apt lists). A kernel that ships virt_wifi.ko (the debug kernel of ../shared/kernels)
# uses its own. Nothing of virt_wifi is copied into this repository.
# Needs iperf3 and ethtool on this machine (installed with apt-get when missing); their
# binaries go into the VM with wifi-lab --add.
set -euo pipefail
series=${1:?usage: datapath.sh 6.1|6.12|sid|experimental|linux-image DEB [ROUNDS]}
rounds=${2:-3}
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || { echo "datapath.sh: ROUNDS must be 1..99, got '$rounds'" >&2; exit 2; }
secs=${DATAPATH_SECONDS:-5}
[[ "$secs" =~ ^[1-9][0-9]?$ ]] || { echo "datapath.sh: DATAPATH_SECONDS must be 1..99, got '$secs'" >&2; exit 2; }
smoke=${DATAPATH_SMOKE:-0}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../lib/common.sh"
vm_test_setup "guest data path ($series)"

need=()
command -v iperf3 >/dev/null || need+=(iperf3)
command -v ethtool >/dev/null || need+=(ethtool)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >"$work/apt.log" 2>&1 \
    || { tail -n 20 "$work/apt.log"; echo "FAIL installing ${need[*]}"; exit 1; }
fi

kver=$("$WIFI_LAB" --kernel "$series" --kernel-version)
module=$(guest_module "$series") || exit 1
base_add=()
if [ -n "${DATAPATH_BASE:-}" ]; then
  git -C "$root" rev-parse --verify -q "${DATAPATH_BASE}^{commit}" >/dev/null \
    || { echo "datapath.sh: DATAPATH_BASE '$DATAPATH_BASE' is not a commit of $root" >&2; exit 2; }
  mkdir -p "$work/base"
  git -C "$root" archive "$DATAPATH_BASE" guest/linux | tar -x -C "$work/base" --strip-components=2
  "$WIFI_LAB" --kernel "$series" --kbuild "$work/base" >"$work/base.log" 2>&1 \
    || { cat "$work/base.log"; echo "FAIL building proxy_wifi.ko of $DATAPATH_BASE for $series"; exit 1; }
  base_add=(--add "$(tail -n 1 "$work/base.log"):/root/proxy_wifi-base.ko")
  echo "base: proxy_wifi of $(git -C "$root" rev-parse --short "$DATAPATH_BASE")"
fi

# virt_wifi_source KVER: prints the path of virt_wifi.c taken from the Debian
# linux-source package of the kernel's X.Y (cached per package version).
cache=${XDG_CACHE_HOME:-$HOME/.cache}/proxy-wifi-datapath
virt_wifi_source() {
  local mm pkg ver deb src lab_apt
  mm=$(echo "$1" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
  pkg=linux-source-$mm
  mkdir -p "$cache/debs"
  local apt=(apt-get) cachey=(apt-cache)
  ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/{print $2}')
  if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
    # sid/experimental: wifi-lab's private apt lists (see wifi-lab --help, SID / EXPERIMENTAL)
    lab_apt=${WIFI_LAB_CACHE:-$HOME/.cache/wifi-lab}/apt
    [ -f "$lab_apt/apt.conf" ] || { echo "no $pkg in apt and no $lab_apt" >&2; return 1; }
    local o=(-c "$lab_apt/apt.conf" -o "Dir::Etc::sourcelist=$lab_apt/sources.list" -o Dir::Etc::sourceparts=-
      -o "Dir::State::Lists=$lab_apt/lists" -o "Dir::State::status=$lab_apt/status" -o "Dir::Cache=$lab_apt/cache")
    apt=(apt-get "${o[@]}"); cachey=(apt-cache "${o[@]}")
    ver=$("${cachey[@]}" policy "$pkg" 2>/dev/null | awk '/Candidate:/{print $2}')
    { [ -n "$ver" ] && [ "$ver" != "(none)" ]; } || { echo "no $pkg package found" >&2; return 1; }
  fi
  src="$cache/virt_wifi-$pkg-$ver.c"
  if [ ! -s "$src" ]; then
    deb=$(ls "$cache/debs/${pkg}_$(echo "$ver" | sed 's/:/%3a/')_all.deb" 2>/dev/null || true)
    if [ -z "$deb" ]; then
      (cd "$cache/debs" && "${apt[@]}" download "$pkg=$ver") >"$work/src-apt.log" 2>&1 \
        || { cat "$work/src-apt.log" >&2; return 1; }
      deb=$(ls "$cache/debs/${pkg}_"*"_all.deb" | sort -V | tail -n 1)
    fi
    echo "extracting virt_wifi.c from $(basename "$deb")" >&2
    dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$pkg.tar.xz" | xz -dc \
      | tar -xO --wildcards '*/drivers/net/wireless/virt_wifi.c' '*/drivers/net/wireless/virtual/virt_wifi.c' \
      >"$src.tmp" 2>/dev/null || true
    [ -s "$src.tmp" ] || { rm -f "$src.tmp"; echo "no virt_wifi.c in $deb" >&2; return 1; }
    mv "$src.tmp" "$src"
  fi
  echo "kernel $1: virt_wifi.c of $pkg $ver" >&2
  echo "$src"
}

vw_add=()
case $series in
*.deb) dpkg-deb -c "$series" | grep -q '/virt_wifi\.ko' && vw_ship=1 || vw_ship=0 ;;
*) vw_ship=0 ;;
esac
if [ "$smoke" = 1 ]; then
  :
elif [ $vw_ship = 0 ]; then
  src=$(virt_wifi_source "$kver") || { echo "FAIL getting virt_wifi.c for $kver"; exit 1; }
  mkdir -p "$work/vw"
  cp "$src" "$work/vw/virt_wifi.c"
  echo 'obj-m += virt_wifi.o' >"$work/vw/Kbuild"
  "$WIFI_LAB" --kernel "$series" --kbuild "$work/vw" >"$work/vw.log" 2>&1 \
    || { cat "$work/vw.log"; echo "FAIL building virt_wifi.ko for $kver"; exit 1; }
  vw_add=(--add "$(tail -n 1 "$work/vw.log"):/root/virt_wifi.ko")
else
  echo "kernel $kver ships virt_wifi.ko"
fi

# Boot, the checks and module loads take about 2 minutes under TCG; each round about
# 3 x (6 x (secs + 3) + 10) s.
setups=3; [ ${#base_add[@]} -eq 0 ] || setups=4
timeout=$(( 300 + (smoke == 1 ? 0 : rounds * setups * (6 * (secs + 4) + 30)) ))
rc=0
"$WIFI_LAB" --kernel "$series" --timeout "${GUEST_VM_TIMEOUT:-$timeout}" --mem 1536 \
  --add "$work/proxy-wifi:/usr/local/bin/proxy-wifi" "${nice_add[@]}" \
  --add "$module:/root/proxy_wifi.ko" "${base_add[@]}" "${vw_add[@]}" \
  --add "$(command -v iperf3):/usr/local/bin/iperf3" \
  --add "$(command -v ethtool):/usr/local/bin/ethtool" \
  --add "$here/networks.toml:/root/networks.toml" \
  --add "$here/datapath-in-vm.sh:/root/datapath-in-vm.sh" \
  --add "$here/helpers-in-vm.sh:/root/helpers-in-vm.sh" \
  --run "export ROUNDS=$rounds SECS=$secs SMOKE=$smoke WAIT_SCALE=${GUEST_WAIT_SCALE:-1}

$IN_VM_PRELUDE
source /root/datapath-in-vm.sh" || rc=$?
what="$rounds rounds of ${secs}s runs"; [ "$smoke" = 1 ] && what="correctness checks only"
echo "guest data-path benchmark ($series, $kver, $what): exit $rc after $(( $(date +%s) - started ))s"
exit $rc
