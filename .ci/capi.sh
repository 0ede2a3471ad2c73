#!/usr/bin/env bash
# Usage: .ci/capi.sh [TOOLS_DIR]   (default: ../shared/tools beside the repository)
# C ABI (crates/proxy-wifi-capi): header freshness and C99/C++ cleanliness, the C and C++
# tests driven by the guest client, the C test under ASan+UBSan (leak checking on), an
# install into a temporary prefix used through pkg-config (shared and static) and CMake,
# and, when ../shared/tools/test-windows is present, the DLL and the same C test under Wine
# (cold: ~8 min to build std and the crate for Windows; warm: ~20 s. The build directory is
# the one .ci/windows.sh keeps outside the clone, /var/cache/proxy-wifi/windows-test, unless
# TEST_WINDOWS_TARGET_DIR is set).
# Installs what it needs (C/C++ compilers, pkg-config, cmake) when missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
started=$(date +%s)
tools=${1:-$root/../shared/tools}
note() { echo "--- [capi $(( $(date +%s) - started ))s] $*"; }

need=()
command -v cc >/dev/null || need+=(gcc)
command -v c++ >/dev/null || need+=(g++)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cmake >/dev/null || need+=(cmake)
if [ ${#need[@]} -gt 0 ]; then
  note "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

note "cargo test -p proxy-wifi-capi (header, C test, C test under ASan/UBSan, C++ test, examples)"
log=$(mktemp)
cargo test -p proxy-wifi-capi -- --nocapture >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
grep -E '^test |^sanitizers:|^test result' "$log"
rm -f "$log"

note "install into a temporary prefix; build the examples through pkg-config and CMake"
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
crates/proxy-wifi-capi/install.sh "$prefix" dev >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
examples=crates/proxy-wifi-capi/examples
cc -std=c99 -Wall -Werror "$examples/c/embed.c" $(pkg-config --cflags --libs proxy-wifi) -Wl,-rpath,"$prefix/lib" -o "$work/embed_shared"
cc -std=c99 -Wall -Werror "$examples/c/embed.c" $(pkg-config --cflags --libs proxy-wifi-static) -o "$work/embed_static"
if ldd "$work/embed_static" | grep -q proxy_wifi_capi; then echo "embed_static links the shared library" >&2; exit 1; fi
cmake -S crates/proxy-wifi-capi/tests/cmake -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DEXAMPLES="$root/$examples" >"$work/cmake.log" 2>&1 && cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1 \
  || { cat "$work/cmake.log"; exit 1; }
for exe in "$work/embed_shared" "$work/embed_static" "$work/cmake/embed_c" "$work/cmake/embed_cpp"; do
  out=$("$exe" 0 </dev/null)
  grep -q '^stopped' <<<"$out" || { echo "$exe: $out" >&2; exit 1; }
  echo "ok: $(basename "$exe") started a service and stopped it"
done

note "Windows: the DLL and the C test under Wine"
if [ -x "$tools/test-windows" ]; then
  cache=${TEST_WINDOWS_TARGET_DIR:-/var/cache/proxy-wifi/windows-test}
  if mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ]; then
    export TEST_WINDOWS_TARGET_DIR=$cache
  fi
  bash crates/proxy-wifi-capi/windows-test.sh "$tools/test-windows"
else
  echo "skipped: $tools/test-windows not found, the C test was not run under Wine"
fi
note "done"
