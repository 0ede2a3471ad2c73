#!/usr/bin/env bash
# Builds the C library and installs it with its headers, pkg-config file and CMake config.
# Usage: crates/proxy-wifi-capi/install.sh PREFIX [PROFILE]   (PROFILE: release (default) or dev)
set -euo pipefail
prefix=${1:?usage: install.sh PREFIX [release|dev]}
profile=${2:-release}
case "$profile" in
  release) dir=release ;;
  dev) dir=debug ;;
  *) echo "install.sh: profile '$profile' is not 'release' or 'dev'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --manifest-path "$root/Cargo.toml" -p proxy-wifi-capi --profile "$profile"
# The system libraries a static link needs, as rustc reports them.
native=$(cargo rustc --manifest-path "$root/Cargo.toml" -p proxy-wifi-capi --profile "$profile" --lib \
           --crate-type staticlib -- --print native-static-libs 2>&1 \
         | sed -n 's/.*native-static-libs: //p' | tail -1)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
mkdir -p "$prefix/lib/pkgconfig" "$prefix/lib/cmake/proxy-wifi" "$prefix/include"
prefix=$(cd "$prefix" && pwd)
cp "$target/$dir/libproxy_wifi_capi.so" "$target/$dir/libproxy_wifi_capi.a" "$prefix/lib/"
cp "$here/include/proxy_wifi.h" "$here/include/proxy_wifi.hpp" "$prefix/include/"
for pc in proxy-wifi proxy-wifi-static; do
  sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@NATIVE_LIBS@|$native|" \
    "$here/pkg/$pc.pc.in" >"$prefix/lib/pkgconfig/$pc.pc"
done
cp "$here/pkg/proxy-wifiConfig.cmake" "$prefix/lib/cmake/proxy-wifi/"
echo "installed proxy-wifi $version ($profile) into $prefix"
