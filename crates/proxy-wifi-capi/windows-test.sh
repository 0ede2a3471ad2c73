#!/usr/bin/env bash
# Builds proxy_wifi_capi.dll and its import library for x86_64-pc-windows-gnu, compiles the
# C test (tests/c/capi_test.c) against them with MinGW, and runs tests/c_api.rs under Wine
# through test-windows: the Windows build of the harness drives the Windows C program with
# the guest client. Usage: windows-test.sh PATH/TO/test-windows
set -euo pipefail
test_windows=${1:?usage: windows-test.sh PATH/TO/test-windows}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
td=${TEST_WINDOWS_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/windows-test}
mkdir -p "$td"; td=$(cd "$td" && pwd)
export TEST_WINDOWS_TARGET_DIR=$td

# 1. test-windows installs MinGW, Wine and the std sources, and builds the crate's tests
#    (and so the DLL). Without PWIFI_C_TEST_EXE the Windows harness only says it skipped.
"$test_windows" -p proxy-wifi-capi --test c_api | tail -3
deps=$td/x86_64-pc-windows-gnu/debug/deps
ls "$deps/proxy_wifi_capi.dll" "$deps/libproxy_wifi_capi.dll.a" >/dev/null

# 2. The C test for Windows, next to the DLL (Windows loads DLLs from the program's folder).
exe=$deps/capi_test.exe
x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror -I"$here/include" "$here/tests/c/capi_test.c" \
  -L"$deps" -lproxy_wifi_capi -o "$exe"
imports=$(x86_64-w64-mingw32-objdump -p "$exe")
grep -q 'DLL Name: proxy_wifi_capi.dll' <<<"$imports" || { echo "$exe does not import proxy_wifi_capi.dll" >&2; exit 1; }
rm -f "$exe.passed"

# 3. The harness under Wine runs it (PWIFI_C_TEST_EXE, as a Windows path) and writes
#    "$exe.passed" with the C program's last line when it passed.
PWIFI_C_TEST_EXE="Z:${exe//\//\\}" "$test_windows" -p proxy-wifi-capi --test c_api | tail -3
[ -f "$exe.passed" ] || { echo "the C test did not run under Wine" >&2; exit 1; }
echo "capi_test.exe under Wine: $(cat "$exe.passed")"
