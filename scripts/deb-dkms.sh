#!/usr/bin/env bash
# Builds the guest driver's Debian package: target/debian/proxy-wifi-dkms_VERSION_all.deb
# (path printed last). The package holds guest/linux under /usr/src/proxy_wifi-VERSION
# and lets DKMS build it for every installed kernel and each new one (dh-dkms), loads
# the module at boot (/usr/lib/modules-load.d) with auto_link=1
# (/etc/modprobe.d/proxy_wifi.conf). Packaging: contrib/dkms/debian. Installs
# debhelper and dh-dkms when missing (apt-get; needs root).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
version=$(sed -n 's/^PACKAGE_VERSION="\([0-9.]*\)"$/\1/p' guest/linux/dkms.conf)
changelog_version=$(sed -n '1s/.*(\([^)]*\)).*/\1/p' contrib/dkms/debian/changelog)
header_version=$(sed -n 's/^#define PW_DRV_VERSION[[:space:]]*"\(.*\)"$/\1/p' guest/linux/proxy_wifi.h)
[ "$version" = "$changelog_version" ] && [ "$version" = "$header_version" ] || {
  echo "deb-dkms: the versions differ: guest/linux/dkms.conf $version, guest/linux/proxy_wifi.h" \
    "$header_version, contrib/dkms/debian/changelog $changelog_version" >&2
  exit 1
}

missing=()
command -v dh >/dev/null || missing+=(debhelper)
command -v dh_dkms >/dev/null || missing+=(dh-dkms)
command -v dpkg-buildpackage >/dev/null || missing+=(dpkg-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

target=${CARGO_TARGET_DIR:-$root/target}
out="$target/debian"
build="$target/debian-dkms/proxy-wifi-dkms-$version"
rm -rf "$target/debian-dkms"
mkdir -p "$build/src/conf" "$out"
cp -r contrib/dkms/debian "$build/"
cp guest/linux/{*.c,*.h,Kbuild,Makefile,dkms.conf,LICENSE,README.md} "$build/src/"
cp guest/linux/conf/* "$build/src/conf/"
(cd "$build" && SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -STimestamp) dpkg-buildpackage -b -us -uc -tc >"$target/debian-dkms/build.log" 2>&1) \
  || { cat "$target/debian-dkms/build.log"; echo "deb-dkms: dpkg-buildpackage failed" >&2; exit 1; }
deb="proxy-wifi-dkms_${version}_all.deb"
mv "$target/debian-dkms/$deb" "$out/"
echo "$out/$deb"
