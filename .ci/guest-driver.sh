#!/usr/bin/env bash
# CI step for the guest driver (guest/linux) on every kernel of the matrix: Debian 12's
# 6.1 and 6.12, Debian unstable's newest (sid) and experimental's. For each: a W=1 C=1
# (sparse) build that must print no warning, then the VM suite
# (tests/vm/guest-driver/run.sh): whole on the oldest and the newest kernel, its core
# parts (everything that depends on the kernel) on those between; the data path's
# correctness checks (DATAPATH_SMOKE=1 tests/vm/guest-driver/datapath.sh) on the newest.
# Then the DKMS package (scripts/deb-dkms.sh): contents,
# lintian, install on this machine (DKMS must build the module for every installed
# linux-headers-* kernel), removal; and the boot test of the installed guest
# (tests/vm/guest-driver/boot.sh) on the oldest and the newest kernel; and the whole VM
# suite's core parts on the debug kernel of ../shared/kernels (KASAN, lockdep, UBSAN,
# kmemleak; GUEST_DRIVER_DEBUG_KERNEL=DEB picks another, =none skips it): module and link,
# the hostile host, 40 reloads with work in flight, 20 link cycles and kmemleak, judged on
# its kernel log (no report after any part, no leak, the module unloads). Its whole suite
# takes too long for CI (over 50 min here); run it with
#   GUEST_WAIT_SCALE=3 GUEST_VM_TIMEOUT=6000 bash tests/vm/guest-driver/run.sh DEB
# The VM jobs run
# in two lanes side by side (each VM is one TCG vCPU; 2 cores), each job's output in its
# own log, shown when it fails.
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

# The debug kernel (KASAN, lockdep, UBSAN, kmemleak; ../shared/kernels, see its README):
# the whole VM suite runs on it too, and its kernel log must stay clean.
debug_kernel=${GUEST_DRIVER_DEBUG_KERNEL:-$(ls "$root"/../shared/kernels/linux-image-*pwdebug*.deb 2>/dev/null | head -n 1 || true)}
build_kernels=("${kernels[@]}")
[ "$debug_kernel" != none ] || debug_kernel=""
[ -z "$debug_kernel" ] || [ $have_lab = 0 ] || build_kernels+=("$debug_kernel")

out=${GUEST_DRIVER_OUT:-$(mktemp -d)}
declare -A module
for k in "${build_kernels[@]}"; do
  b="$out/${k##*/}"
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

# One VM job: its output in $out/JOB.log, a summary line on stdout; the log is shown
# when it fails.
vm_job() { # kind kernel
  local name="$1-${2##*/}" t0 rc=0
  t0=$(date +%s)
  case $1 in
    suite) WIFI_LAB="$wifi_lab" bash "$root/tests/vm/guest-driver/run.sh" "$2" "${module[$2]}" >"$out/$name.log" 2>&1 || rc=$? ;;
    core) GUEST_PARTS="" WIFI_LAB="$wifi_lab" bash "$root/tests/vm/guest-driver/run.sh" "$2" "${module[$2]}" \
      >"$out/$name.log" 2>&1 || rc=$? ;;
    datapath) DATAPATH_SMOKE=1 WIFI_LAB="$wifi_lab" bash "$root/tests/vm/guest-driver/datapath.sh" "$2" \
      >"$out/$name.log" 2>&1 || rc=$? ;;
    debug) GUEST_PARTS="" GUEST_WAIT_SCALE=3 GUEST_VM_TIMEOUT=3000 WIFI_LAB="$wifi_lab" bash "$root/tests/vm/guest-driver/run.sh" "$2" "${module[$2]}" \
      >"$out/$name.log" 2>&1 || rc=$? ;;
    boot) WIFI_LAB="$wifi_lab" bash "$root/tests/vm/guest-driver/boot.sh" "$2" >"$out/$name.log" 2>&1 || rc=$? ;;
  esac
  local summary; summary=$(grep -E '^GUEST (DRIVER|BOOT) TEST|^GUEST DATA PATH' "$out/$name.log" | tail -n 1)
  [ -n "$summary" ] || summary=$(grep -cE '^PASS ' "$out/$name.log" | sed 's/$/ checks passed/')
  if [ "$1" = debug ] && [ $rc != 0 ] && [ $rc != 124 ] && [ $rc != 125 ]; then
    # The debug kernel's verdict is its kernel log: every part's "kernel clean" check, the
    # kmemleak check and the final rmmod must pass. Its other checks keep timings made for
    # production kernels (stretched x3) and are reported, not counted.
    local clean dirty leak unload others
    clean=$(grep -c '^PASS .*kernel clean after' "$out/$name.log" || true)
    dirty=$(grep -c '^FAIL .*kernel clean after' "$out/$name.log" || true)
    leak=$(grep -c '^PASS .*kmemleak after the cycles: 0 unreferenced' "$out/$name.log" || true)
    unload=$(grep -c '^PASS .*final rmmod' "$out/$name.log" || true)
    others=$(grep '^FAIL ' "$out/$name.log" | grep -vc 'kernel clean after' || true)
    if [ "$clean" -ge 4 ] && [ "$dirty" = 0 ] && [ "$leak" = 1 ] && [ "$unload" = 1 ]; then
      summary="$summary; kernel log clean after all $clean parts, kmemleak 0; $others timing-bound check(s) failed on this slow kernel:"
      summary="$summary"$'\n'"$(grep '^FAIL ' "$out/$name.log" | grep -v 'kernel clean after' | cut -c 1-160 | sed 's/^/      /')"
      rc=0
    fi
  fi
  if [ $rc = 0 ]; then
    echo "  PASS $1 on $2: ${summary:-no summary} ($(( $(date +%s) - t0 ))s)"
  else
    cat "$out/$name.log"
    echo "  FAIL $1 on $2: exit $rc ($(( $(date +%s) - t0 ))s)"
  fi
  return $rc
}
# A lane runs its jobs one after the other; two lanes run side by side (one TCG vCPU each).
lane() { local rc=0 job; for job in "$@"; do vm_job ${job/:/ } || rc=1; done; return $rc; }

if [ "${GUEST_DRIVER_SKIP_VM:-0}" = 1 ]; then
  say "VM tests skipped (GUEST_DRIVER_SKIP_VM=1)"
elif [ $have_lab = 0 ]; then
  say "skipped: $wifi_lab not found, guest driver VM tests not run"
else
  # The service binary, built once for every job.
  (cd "$root" && cargo build -q -p proxy-wifi-cli)
  export PROXY_WIFI_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/proxy-wifi"
  # The debug kernel's suite (3x slower) has a lane to itself, with the oldest kernel's
  # boot test and the data path's correctness checks (offloads, MTU, intact data, nothing
  # delivered while not connected) on the newest; the other lane takes the whole suite on
  # the oldest and the newest kernel, its core parts (module and link, hostile host,
  # reloads, link cycles: what depends on the kernel) on those between, and the newest's
  # boot test. The parts left out there (the real wpa_supplicant chain, NetworkManager)
  # test user space, the same on every kernel.
  lane_a=(); lane_b=()
  if [ -n "$debug_kernel" ]; then
    lane_a+=("debug:$debug_kernel" "boot:$oldest" "datapath:$newest")
    for k in "${kernels[@]}"; do
      if [ "$k" = "$oldest" ] || [ "$k" = "$newest" ]; then lane_b+=("suite:$k"); else lane_b+=("core:$k"); fi
    done
    [ "$newest" = "$oldest" ] || lane_b+=("boot:$newest")
  else
    jobs=()
    for k in "${kernels[@]}"; do jobs+=("suite:$k"); done
    for k in $(printf '%s\n' "$oldest" "$newest" | uniq); do jobs+=("boot:$k"); done
    for i in "${!jobs[@]}"; do
      if [ $((i % 2)) = 0 ]; then lane_a+=("${jobs[$i]}"); else lane_b+=("${jobs[$i]}"); fi
    done
  fi
  say "VM jobs in two lanes: [${lane_a[*]##*/}] and [${lane_b[*]}]"
  lane "${lane_a[@]}" &
  pid_a=$!
  rc_b=0; [ ${#lane_b[@]} -eq 0 ] || lane "${lane_b[@]}" || rc_b=$?
  rc_a=0; wait $pid_a || rc_a=$?
  [ $rc_a = 0 ] && [ $rc_b = 0 ] || { say "VM jobs failed (above)"; exit 1; }
fi
[ -n "${GUEST_DRIVER_OUT:-}" ] || rm -rf "$out"
say "done"
