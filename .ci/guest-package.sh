#!/usr/bin/env bash
# The guest driver's Debian package, proxy-wifi-dkms (scripts/deb-dkms.sh): its contents
# (dpkg-deb -c, conffiles), lintian (no tag at all), then install it on this machine with
# apt: DKMS must build and install the module for every kernel whose linux-headers-*
# package is installed, and the boot-time files must be in place; then remove it (no
# module, no DKMS tree, no source left; the settings file stays until purge) and purge it.
# Nothing is loaded into this machine's own kernel (postinst loads the module only into
# a running kernel DKMS built it for, and this machine runs another one).
#
#   bash .ci/guest-package.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started ))s"; }
fail() { echo "FAIL $*"; exit 1; }
export DEBIAN_FRONTEND=noninteractive

deb=$(bash "$root/scripts/deb-dkms.sh" | tail -n 1)
[ -f "$deb" ] || fail "scripts/deb-dkms.sh built no package"
version=$(dpkg-deb -f "$deb" Version)
echo "built $(basename "$deb"): $(stat -c %s "$deb") bytes [$(elapsed)]"

contents=$(dpkg-deb -c "$deb")
expect() { # mode path
  echo "$contents" | awk -v m="$1" -v p="./$2" '$1==m && $6==p {ok=1} END{exit !ok}' \
    || fail "the package lacks $2 (mode $1)"
}
src="usr/src/proxy_wifi-$version"
for f in "$root"/guest/linux/*.c "$root"/guest/linux/*.h; do expect -rw-r--r-- "$src/$(basename "$f")"; done
for f in Kbuild Makefile dkms.conf; do expect -rw-r--r-- "$src/$f"; done
expect -rw-r--r-- etc/modprobe.d/proxy_wifi.conf
expect -rw-r--r-- usr/lib/modules-load.d/proxy_wifi.conf
expect -rw-r--r-- usr/share/doc/proxy-wifi-dkms/copyright
expect -rw-r--r-- usr/share/doc/proxy-wifi-dkms/changelog.gz
n_files=$(echo "$contents" | grep -c '^-')
[ "$n_files" = $(( $(ls "$root"/guest/linux/*.[ch] | wc -l) + 3 + 5 )) ] \
  || fail "the package has $n_files files, expected the sources and 5 others: $contents"
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
[ "$conffiles" = /etc/modprobe.d/proxy_wifi.conf ] || fail "conffiles: $conffiles"
grep -q "^PACKAGE_VERSION=\"$version\"" <(dpkg-deb --fsys-tarfile "$deb" | tar -xO "./$src/dkms.conf") \
  || fail "dkms.conf's PACKAGE_VERSION is not $version"
depends=$(dpkg-deb -f "$deb" Depends)
echo "$depends" | grep -q dkms || fail "Depends: $depends (no dkms)"
echo "PASS contents: $n_files files, conffiles $conffiles, Depends: $depends [$(elapsed)]"

command -v lintian >/dev/null || apt-get install -y -qq --no-install-recommends lintian >/dev/null
lintian_rc=0
tags=$(lintian --info --fail-on error,warning "$deb" 2>&1) || lintian_rc=$?
tags=$(echo "$tags" | grep -v 'running with root privileges' || true)
[ "$lintian_rc" -eq 0 ] && [ -z "$tags" ] || fail "lintian (exit $lintian_rc): $tags"
echo "PASS lintian: no tag [$(elapsed)]"

headers=$(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 'linux-headers-*' 2>/dev/null \
  | awk '$1=="ii" && $2 ~ /-(amd64|arm64)$/ {sub(/^linux-headers-/, "", $2); print $2}')
[ -n "$headers" ] || fail "no linux-headers-* package is installed to build for"
apt-get install -y --no-install-recommends "$deb" >/tmp/guest-package-install.log 2>&1 \
  || { cat /tmp/guest-package-install.log; fail "apt-get install $deb"; }
for kver in $headers; do
  ko=$(find "/lib/modules/$kver/updates/dkms" -name 'proxy_wifi.ko*' 2>/dev/null | head -n 1)
  [ -n "$ko" ] || { cat /tmp/guest-package-install.log; fail "DKMS built no module for $kver"; }
  modinfo -F vermagic "$ko" | grep -q "^$kver " || fail "$ko is not built for $kver"
  dkms status -m proxy_wifi -v "$version" -k "$kver" | grep -q installed || fail "dkms status for $kver"
  [ "$(modinfo -F version "$ko")" = "$version" ] || fail "$ko's version is $(modinfo -F version "$ko"), not $version"
  echo "PASS installed: DKMS built $ko (version $version) for $kver"
done
[ -f /usr/lib/modules-load.d/proxy_wifi.conf ] && grep -q '^options proxy_wifi auto_link=1' /etc/modprobe.d/proxy_wifi.conf \
  || fail "the boot-time files are not in place"
echo "PASS install: module for $(echo "$headers" | wc -w) kernel(s), loaded at boot with auto_link=1 [$(elapsed)]"

# What an installation leaves that a removal must take away (the settings file aside).
leftovers() {
  find /lib/modules/*/updates/dkms -name 'proxy_wifi.ko*' 2>/dev/null
  ls -d /var/lib/dkms/proxy_wifi "/usr/src/proxy_wifi-$version" /usr/lib/modules-load.d/proxy_wifi.conf 2>/dev/null || true
}
apt-get remove -y proxy-wifi-dkms >/tmp/guest-package-remove.log 2>&1 \
  || { cat /tmp/guest-package-remove.log; fail "apt-get remove proxy-wifi-dkms"; }
left=$(leftovers)
[ -z "$left" ] || fail "left after removal: $left"
[ -f /etc/modprobe.d/proxy_wifi.conf ] || fail "the settings file went with remove (it is a conffile, kept until purge)"
apt-get purge -y proxy-wifi-dkms >/dev/null 2>&1 || fail "apt-get purge"
[ ! -e /etc/modprobe.d/proxy_wifi.conf ] || fail "the settings file stayed after purge"
echo "PASS remove: no module, DKMS tree or source left; purge removes the settings [$(elapsed)]"

# The route of other distributions: make dkms-install / dkms-uninstall, for one kernel
# with headers here.
kver=$(echo "$headers" | tail -n 1)
make -s -C "$root/guest/linux" dkms-install KVER="$kver" >/tmp/guest-make-dkms.log 2>&1 \
  || { cat /tmp/guest-make-dkms.log; fail "make dkms-install KVER=$kver"; }
dkms status -m proxy_wifi -v "$version" -k "$kver" | grep -q installed || fail "make dkms-install: dkms status"
[ -f /usr/lib/modules-load.d/proxy_wifi.conf ] && [ -f /etc/modprobe.d/proxy_wifi.conf ] \
  || fail "make dkms-install: the boot-time files are not in place"
make -s -C "$root/guest/linux" dkms-uninstall KVER="$kver" >>/tmp/guest-make-dkms.log 2>&1 || fail "make dkms-uninstall"
left=$(leftovers)
[ -z "$left" ] || fail "left after make dkms-uninstall: $left"
rm -f /etc/modprobe.d/proxy_wifi.conf
echo "PASS make dkms-install / dkms-uninstall (other distributions): built by DKMS for $kver, then nothing left [$(elapsed)]"
