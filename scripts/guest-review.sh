#!/usr/bin/env bash
# The guest driver as kernel maintainers would review it, with the tools of Debian's
# linux-source-6.12 package (installed when missing; its tree is unpacked once into
# target/guest-review/):
#   1. scripts/checkpatch.pl --strict on every file of guest/linux: no message but the
#      ones justified in guest/linux/README.md ("checkpatch"), listed in ALLOWED below;
#   2. scripts/kernel-doc -Wall: no warning, and every non-static function has a
#      kernel-doc comment;
#   3. the in-tree build: the driver copied under drivers/net/wireless/virtual/proxy_wifi
#      with a Kconfig entry PROXY_WIFI (depends on CFG80211 && VSOCKETS) and a Makefile
#      line, then `make defconfig` + CFG80211=m VSOCKETS=m PROXY_WIFI=m, `make
#      olddefconfig modules_prepare` and the directory built as a module with W=1 (every
#      file compiled [M] and linked into proxy_wifi.o; the .ko's modpost step would need
#      the whole kernel built): no warning.
#
#   bash scripts/guest-review.sh [checkpatch|kernel-doc|in-tree]...   # default: all three
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src="$root/guest/linux"
out="${CARGO_TARGET_DIR:-$root/target}/guest-review"
tree="$out/linux-source-6.12"
started=$(date +%s)
say() { echo "[guest-review +$(( $(date +%s) - started ))s] $*"; }
fail() { echo "FAIL $*"; exit 1; }

# Messages each justified in guest/linux/README.md ("checkpatch").
ALLOWED=(
  "compat.h:[0-9]+: WARNING: LINUX_VERSION_CODE should be avoided, code should be for the version to which it is merged"
  "compat.h:[0-9]+: WARNING: Comparisons should place the constant on the right side of the test"
  "compat.h:[0-9]+: CHECK: Macro argument reuse '(sband|data)' - possible side-effects\\?"
)

unpack() {
  [ -x "$tree/scripts/checkpatch.pl" ] && [ -f "$tree/Makefile" ] && return 0
  if [ ! -f /usr/src/linux-source-6.12.tar.xz ]; then
    say "installing linux-source-6.12"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends linux-source-6.12 >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends linux-source-6.12 >/dev/null; }
  fi
  for p in bc bison flex libelf-dev libssl-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1
  done
  say "unpacking /usr/src/linux-source-6.12.tar.xz into $out (once)"
  rm -rf "$tree"; mkdir -p "$out"
  tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$out"
}

checkpatch() {
  local report unexplained
  report=$(cd "$src" && "$tree/scripts/checkpatch.pl" --strict --no-tree --terse -f ./*.c ./*.h 2>&1 \
    | grep -v '^total:' | sed 's|^\./||' || true)
  unexplained=$(echo "$report" | grep -v '^$' | grep -Ev "$(IFS='|'; echo "^(${ALLOWED[*]})$")" || true)
  [ -z "$unexplained" ] || { echo "$unexplained"; fail "checkpatch --strict: the messages above are not justified"; }
  echo "PASS checkpatch --strict: $(ls "$src"/*.[ch] | wc -l) files, $(echo "$report" | grep -c . || true) message(s), each justified in guest/linux/README.md"
}

kernel_doc() {
  local warnings missing
  warnings=$(cd "$src" && "$tree/scripts/kernel-doc" -none -Wall ./*.c ./*.h 2>&1 || true)
  [ -z "$warnings" ] || { echo "$warnings"; fail "kernel-doc -Wall"; }
  # A non-static function defined at the start of a line must follow a "/**" comment.
  missing=$(cd "$src" && awk '
    /^\/\*\*/ { in_doc = 1 }
    in_doc && /\*\/$/ { in_doc = 0; doc_end = FNR }
    /^[a-z][a-z0-9_ ]*[ *]pw_[a-z0-9_]+\(/ && !/^static/ && FNR != doc_end + 1 { print FILENAME ":" FNR ": " $0 }
    FNR == 1 { doc_end = -5 }
  ' ./*.c | sed 's|^\./||')
  [ -z "$missing" ] || { echo "$missing"; fail "non-static functions without kernel-doc"; }
  echo "PASS kernel-doc -Wall: no warning; every non-static function documented ($(cd "$src" && grep -c '^/\*\*' ./*.c ./*.h | awk -F: '{s+=$2} END{print s}') kernel-doc comments)"
}

in_tree() {
  local dir="$tree/drivers/net/wireless/virtual/proxy_wifi"
  local log="$out/in-tree.log"
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$src"/*.c "$src"/*.h "$dir/"
  sed 's/^obj-m += /obj-$(CONFIG_PROXY_WIFI) += /' "$src/Kbuild" >"$dir/Makefile"
  cat >"$dir/Kconfig" <<'KCONFIG'
# SPDX-License-Identifier: GPL-2.0-only OR MIT
config PROXY_WIFI
	tristate "Wi-Fi of the host machine for a virtual machine (proxy_wifi)"
	depends on CFG80211 && VSOCKETS
	help
	  A cfg80211 driver for Linux guests of a virtual machine: it
	  forwards scans, connections and disconnections over vsock to a
	  host service (proxy-wifi, or the original Windows host), which
	  honours them with the host's Wi-Fi. Frames go through the VM's
	  Ethernet device.

	  To compile this driver as a module, choose M here: the module
	  will be called proxy_wifi.
KCONFIG
  local kconfig="$tree/drivers/net/wireless/virtual/Kconfig" makefile="$tree/drivers/net/wireless/virtual/Makefile"
  grep -q proxy_wifi "$kconfig" || echo 'source "drivers/net/wireless/virtual/proxy_wifi/Kconfig"' >>"$kconfig"
  grep -q proxy_wifi "$makefile" || echo 'obj-$(CONFIG_PROXY_WIFI) += proxy_wifi/' >>"$makefile"
  local jobs; jobs=$(nproc)
  (
    cd "$tree"
    [ -f .config ] || make -s defconfig
    scripts/config -m CFG80211 -e VSOCKETS -m PROXY_WIFI -d WERROR
    make -s olddefconfig
    grep -q '^CONFIG_PROXY_WIFI=m' .config || { echo "PROXY_WIFI=m did not survive olddefconfig"; exit 1; }
    make -s -j"$jobs" modules_prepare
    # The directory: every object compiled as part of a module ([M]) and linked into
    # proxy_wifi.o. The .ko's modpost step needs the whole kernel's Module.symvers
    # (a full build, hours here), so it stops there.
    make -j"$jobs" W=1 drivers/net/wireless/virtual/proxy_wifi/
  ) >"$log" 2>&1 || { tail -n 40 "$log"; fail "the in-tree build (log: $log)"; }
  if grep -E '(warning|error):' "$log" | grep -v 'Symbol info of vmlinux is missing'; then
    fail "the in-tree build has warnings (above)"
  fi
  [ -f "$dir/proxy_wifi.o" ] && grep -q 'LD \[M\]  *drivers/net/wireless/virtual/proxy_wifi/proxy_wifi.o' "$log" \
    || { tail -n 20 "$log"; fail "the in-tree build made no module object proxy_wifi.o"; }
  echo "PASS in-tree: drivers/net/wireless/virtual/proxy_wifi with Kconfig PROXY_WIFI (depends on CFG80211 && VSOCKETS) =m, $(grep -c ' CC \[M\]' "$log") files compiled as a module with W=1 and linked (proxy_wifi.o), no warning"
}

steps=("$@"); [ ${#steps[@]} -gt 0 ] || steps=(checkpatch kernel-doc in-tree)
unpack
for step in "${steps[@]}"; do
  case $step in
    checkpatch) checkpatch ;; kernel-doc) kernel_doc ;; in-tree) in_tree ;;
    *) echo "guest-review: unknown step '$step': checkpatch, kernel-doc or in-tree" >&2; exit 2 ;;
  esac
done
say "done"
