#!/usr/bin/env bash
# The Debian package: build it (scripts/deb.sh), check its contents (dpkg-deb -c), run
# lintian (no error or warning; the remaining info tags are justified in
# contrib/debian/lintian-overrides), verify both systemd units (systemd-analyze verify),
# then, when the wifi-lab tool is there, install it in a throwaway VM with a real
# wpa_supplicant: start each unit's ExecStart as systemd would (its RuntimeDirectory=,
# a private /tmp), scan through the host's Wi-Fi, stop it, remove and purge the package.
# Installs lintian (apt-get) and cargo-deb (cargo install) when missing.
#
#   bash .ci/package.sh [SHARED_TOOLS_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
shared_tools=${1:-$root/../shared/tools}
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started ))s"; }
fail() { echo "FAIL $*"; exit 1; }

bash scripts/deb.sh --quiet >/tmp/proxy-wifi-deb.log 2>&1 || { cat /tmp/proxy-wifi-deb.log; fail "scripts/deb.sh"; }
deb=$(tail -n 1 /tmp/proxy-wifi-deb.log)
[ -f "$deb" ] || { cat /tmp/proxy-wifi-deb.log; fail "no .deb built"; }
echo "built $(basename "$deb"): $(stat -c %s "$deb") bytes [$(elapsed)]"

# Contents: every file the package promises, with its mode.
contents=$(dpkg-deb -c "$deb")
expect() { # mode path
  echo "$contents" | awk -v m="$1" -v p="./$2" '$1==m && $6==p {ok=1} END{exit !ok}' \
    || fail "the package lacks $2 (mode $1)"
}
expect -rwxr-xr-x usr/bin/proxy-wifi
expect -rw-r--r-- usr/lib/systemd/system/proxy-wifi.service
expect -rw-r--r-- usr/lib/systemd/system/proxy-wifi@.service
expect -rw-r--r-- usr/lib/systemd/system/proxy-wifi.socket
expect -rw-r--r-- etc/proxy-wifi/proxy-wifi.toml
expect -rwxr-xr-x etc/libvirt/hooks/qemu.d/proxy-wifi
expect -rw-r--r-- usr/share/bash-completion/completions/proxy-wifi
expect -rw-r--r-- usr/share/zsh/vendor-completions/_proxy-wifi
expect -rw-r--r-- usr/share/fish/vendor_completions.d/proxy-wifi.fish
for page in proxy-wifi proxy-wifi-serve proxy-wifi-ctl proxy-wifi-ctl-guest proxy-wifi-guest proxy-wifi-guest-scan \
  proxy-wifi-libvirt-hook; do
  expect -rw-r--r-- "usr/share/man/man1/$page.1.gz"
done
expect -rw-r--r-- usr/share/man/man5/proxy-wifi.toml.5.gz
expect -rw-r--r-- usr/share/doc/proxy-wifi/copyright
expect -rw-r--r-- usr/share/doc/proxy-wifi/changelog.Debian.gz
expect -rw-r--r-- usr/share/lintian/overrides/proxy-wifi
conffiles=$(dpkg-deb -f "$deb" Package >/dev/null && dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
[ "$conffiles" = $'/etc/proxy-wifi/proxy-wifi.toml\n/etc/libvirt/hooks/qemu.d/proxy-wifi' ] \
  || fail "conffiles: $conffiles"
echo "PASS contents: $(echo "$contents" | grep -c '^-') files, binary $(echo "$contents" | awk '$6=="./usr/bin/proxy-wifi"{print $3}') bytes, conffiles in /etc [$(elapsed)]"

# lintian: no error or warning, and no info tag left unexplained.
if ! command -v lintian >/dev/null; then
  echo "installing lintian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lintian >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lintian >/dev/null; }
fi
lintian_rc=0
tags=$(lintian --info --fail-on error,warning "$deb" 2>&1) || lintian_rc=$?
tags=$(echo "$tags" | grep -v 'running with root privileges' || true)
[ "$lintian_rc" -eq 0 ] || fail "lintian (exit $lintian_rc): $tags"
[ -z "$tags" ] || fail "lintian tags without a justified override: $tags"
echo "PASS lintian $(lintian --version | awk '{print $2}'): no tag (overridden: $(grep -c '^proxy-wifi:' contrib/debian/lintian-overrides)) [$(elapsed)]"

# systemd-analyze verify: both units as installed, the binary path pointing into the package.
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -x "$deb" "$unpacked/root"
mkdir "$unpacked/units"
bin="$unpacked/root/usr/bin/proxy-wifi"
sed "s#/usr/bin/proxy-wifi#$bin#" "$unpacked/root/usr/lib/systemd/system/proxy-wifi.service" >"$unpacked/units/proxy-wifi.service"
sed "s#/usr/bin/proxy-wifi#$bin#" "$unpacked/root/usr/lib/systemd/system/proxy-wifi@.service" >"$unpacked/units/proxy-wifi@vm1.service"
cp "$unpacked/root/usr/lib/systemd/system/proxy-wifi.socket" "$unpacked/units/"
if command -v systemd-analyze >/dev/null; then
  out=$(cd "$unpacked/units" && systemd-analyze verify --man=no ./proxy-wifi.socket ./proxy-wifi.service ./proxy-wifi@vm1.service 2>&1) \
    || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
  exposure=$(systemd-analyze security --offline=yes "$unpacked/root/usr/lib/systemd/system/proxy-wifi.service" 2>/dev/null \
    | sed -n 's/.*Overall exposure level for proxy-wifi.service: \([0-9.]*\).*/\1/p')
  grep -qx 'ListenStream=vsock::12345' "$unpacked/units/proxy-wifi.socket" || fail "proxy-wifi.socket does not hold vsock 12345"
  grep -qx 'LimitCORE=0' "$unpacked/units/proxy-wifi.service" && grep -qx 'LimitCORE=0' "$unpacked/units/proxy-wifi@vm1.service" \
    || fail "a service unit allows core dumps (no LimitCORE=0)"
  echo "PASS systemd-analyze verify: the socket and both services; exposure ${exposure:-?} (systemd-analyze security) [$(elapsed)]"
else
  echo "skipped: systemd-analyze not found, units not verified"
fi

# Install, run, scan, remove, in the wifi-lab VM.
WIFI_LAB=${WIFI_LAB:-$shared_tools/wifi-lab}
if [ ! -x "$WIFI_LAB" ]; then
  echo "skipped: $WIFI_LAB not found, the package was not installed in a VM"
  echo "package step: $(elapsed)"
  exit 0
fi
source tests/vm/lib/common.sh   # IN_VM_PRELUDE
read -r -d '' IN_VM <<'EOF_VM' || true
STA=$WIFI_LAB_STA
die() { fail "$@"; echo "$passed passed, $failed failed"; exit 1; }
# A dpkg database of its own: nothing else is installed, so libc6 is not recorded.
mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates /var/lib/dpkg/triggers
touch /var/lib/dpkg/status /var/lib/dpkg/available
DPKG="dpkg --force-depends --force-bad-path"
$DPKG -i /root/proxy-wifi.deb >/tmp/dpkg-i.log 2>&1 || die "dpkg -i: $(cat /tmp/dpkg-i.log)"
if [ -x /usr/bin/proxy-wifi ] && [ -f /usr/lib/systemd/system/proxy-wifi@.service ] && [ -f /etc/proxy-wifi/proxy-wifi.toml ] \
  && dpkg-query -W -f '${Status}' proxy-wifi | grep -q 'install ok installed'; then
  pass "dpkg -i: $(proxy-wifi --version), install ok installed"
else
  die "dpkg -i left: $(dpkg-query -W -f '${Status}' proxy-wifi 2>&1)"
fi

# The host's Wi-Fi: wpa_supplicant on the station, sockets in /run/wpa_supplicant.
printf 'ctrl_interface=/run/wpa_supplicant\n' >/tmp/wpas.conf
wpa_supplicant -B -i "$STA" -c /tmp/wpas.conf -f /var/log/wpas.log
wait_for 5 sh -c "wpa_cli -i $STA ping | grep -q PONG" || die "wpa_supplicant did not start"

# start_unit UNIT INSTANCE [ARGS]: the unit's ExecStart (plus ARGS, as a drop-in would add
# them), run as systemd would: RuntimeDirectory= created 0700 and named in
# $RUNTIME_DIRECTORY, a private /tmp (PrivateTmp=yes).
start_unit() {
  local unit=/usr/lib/systemd/system/$1 instance=$2 extra=${3:-} exec name
  exec="$(sed -n 's/^ExecStart=//p' "$unit" | sed "s/%i/$instance/g") $extra"
  name=$(sed -n 's/^RuntimeDirectory=//p' "$unit" | sed "s/%i/$instance/g")
  [ -n "$exec" ] && [ -n "$name" ] || die "$1: no ExecStart= or RuntimeDirectory="
  grep -q '^PrivateTmp=yes' "$unit" || die "$1 has no PrivateTmp=yes"
  unit_rundir=/run/$name
  mkdir -m 0700 -p "$unit_rundir"
  RUNTIME_DIRECTORY=$unit_rundir $HI unshare -m sh -c "mount -t tmpfs tmpfs /tmp && touch /tmp/private-marker && exec $exec" \
    >/tmp/unit.out 2>/tmp/unit.log &
  unit_pid=$!
  wait_for 15 grep -q serving /tmp/unit.out || die "$1 did not start: $(cat /tmp/unit.log)"
}
stop_unit() {
  kill -0 "$unit_pid" 2>/dev/null || die "$1 is not running: $(tail -5 /tmp/unit.log)"
  kill -TERM "$unit_pid"
  if wait "$unit_pid"; then pass "$1 stopped cleanly on SIGTERM"; else fail "$1 exit status $? on SIGTERM"; fi
  rm -rf "$unit_rundir"
}

# 1. The template unit for one VM (vsock loopback: CID 1 stands for the VM), then a guest scan
#    through wpa_supplicant, whose replies must reach a socket outside the private /tmp.
cat >/etc/proxy-wifi/vm1.toml <<EOF
mode = "host"
backend = "wpa-supplicant"
[[guest]]
vsock-cid = 1
EOF
start_unit proxy-wifi@.service vm1
[ -e /tmp/private-marker ] && fail "the unit's /tmp is not private"
G="proxy-wifi guest --transport vsock --cid 2"
if $HI $G scan >/tmp/scan.txt 2>/tmp/scan.err && grep -q lab-wpa2 /tmp/scan.txt && grep -q lab-open /tmp/scan.txt; then
  pass "proxy-wifi@vm1: guest scan through wpa_supplicant with a private /tmp: $(grep -c lab- /tmp/scan.txt) lab networks"
else
  fail "proxy-wifi@vm1: scan: $(cat /tmp/scan.txt /tmp/scan.err; tail -5 /tmp/unit.log)"
fi
clients=$(ls /run/proxy-wifi-vm1 | grep -c '^proxy-wifi-wpa-' || true)
[ "$clients" -ge 1 ] && pass "wpa_supplicant client sockets in /run/proxy-wifi-vm1 ($clients)" \
  || fail "no client socket in /run/proxy-wifi-vm1: $(ls -la /run/proxy-wifi-vm1)"
proxy-wifi ctl --control-socket /run/proxy-wifi-vm1/control.sock status >/dev/null 2>&1 \
  && pass "proxy-wifi@vm1: control socket in its runtime directory" || fail "proxy-wifi@vm1: ctl status"
stop_unit proxy-wifi@vm1.service

# 2. The main unit with the package's own settings (host Wi-Fi, backend auto), the VM
#    named on the command line as an operator's drop-in would (--guest-cid 1).
start_unit proxy-wifi.service "" "--guest-cid 1"
if proxy-wifi ctl --control-socket /run/proxy-wifi/control.sock status >/tmp/status.txt 2>&1; then
  pass "proxy-wifi.service: serving with /etc/proxy-wifi/proxy-wifi.toml; ctl status answers"
else
  fail "ctl status: $(cat /tmp/status.txt)"
fi
grep -q "interface added" /tmp/unit.log && pass "proxy-wifi.service: backend auto found wpa_supplicant on $STA" \
  || fail "proxy-wifi.service: no interface: $(tail -5 /tmp/unit.log)"
if $HI $G scan >/tmp/scan.txt 2>/tmp/scan.err && grep -q lab-wpa2 /tmp/scan.txt; then
  pass "proxy-wifi.service: guest scan: $(grep -c lab- /tmp/scan.txt) lab networks"
else
  fail "proxy-wifi.service: scan: $(cat /tmp/scan.txt /tmp/scan.err; tail -5 /tmp/unit.log)"
fi
# The packaged libvirt hook, fed the live XML libvirt gives at `started` (an auto-assigned
# CID) and at `release`, adds and removes the VM through the default control socket
# (the package's settings have dynamic-guests = true).
hook=/etc/libvirt/hooks/qemu.d/proxy-wifi
$hook wifi-vm started begin - </root/started.xml 2>/tmp/hook.err; hook_rc=$?
proxy-wifi ctl --control-socket /run/proxy-wifi/control.sock guest list >/tmp/guests.txt 2>&1
if [ "$hook_rc" -eq 0 ] && grep -qx 'vsock:3' /tmp/guests.txt && grep -qx 'vsock:1' /tmp/guests.txt; then
  pass "libvirt hook at started: $(cat /tmp/hook.err); ctl guest list: $(grep -c '^vsock:' /tmp/guests.txt) guests"
else
  fail "libvirt hook at started (exit $hook_rc): $(cat /tmp/hook.err /tmp/guests.txt)"
fi
$hook wifi-vm release end - </root/started.xml 2>/tmp/hook.err; hook_rc=$?
proxy-wifi ctl --control-socket /run/proxy-wifi/control.sock guest list >/tmp/guests.txt 2>&1
if [ "$hook_rc" -eq 0 ] && ! grep -qx 'vsock:3' /tmp/guests.txt && grep -qx 'vsock:1' /tmp/guests.txt; then
  pass "libvirt hook at release: $(cat /tmp/hook.err)"
else
  fail "libvirt hook at release (exit $hook_rc): $(cat /tmp/hook.err /tmp/guests.txt)"
fi
stop_unit proxy-wifi.service
$hook wifi-vm started begin - </root/started.xml 2>/tmp/hook.err; hook_rc=$?
if [ "$hook_rc" -eq 0 ] && grep -q "cannot reach" /tmp/hook.err; then
  pass "libvirt hook without the service: exit 0, logged"
else
  fail "libvirt hook without the service: exit $hook_rc: $(cat /tmp/hook.err)"
fi

# 2b. Socket activation over vsock, as proxy-wifi.socket starts it: a listener on the
#     socket unit's ListenStream= (vsock::12345), handed over as descriptor 3 at the first
#     connection; the service adopts it, and a second service is told who holds the port.
listen=$(sed -n 's/^ListenStream=//p' /usr/lib/systemd/system/proxy-wifi.socket)
exec_line="$(sed -n 's/^ExecStart=//p' /usr/lib/systemd/system/proxy-wifi.service) --guest-cid 1"
mkdir -m 0700 -p /run/proxy-wifi
systemd-socket-activate -l "$listen" --fdname=requests $exec_line >/tmp/act.out 2>/tmp/act.log &
act_pid=$!
wait_for 10 sh -c "ss -H -lnp --vsock | grep -q ':12345 '" || die "systemd-socket-activate did not listen: $(cat /tmp/act.log)"
# The first connection starts the service (as a socket unit does before its service runs);
# then the backend finds wpa_supplicant, and a scan lists the lab's networks.
$HI $G scan >/dev/null 2>&1
wait_for 15 grep -q "interface added" /tmp/act.log || fail "socket activation: no interface: $(tail -5 /tmp/act.log)"
if $HI $G scan >/tmp/scan.txt 2>/tmp/scan.err && grep -q lab-wpa2 /tmp/scan.txt \
  && grep -q 'serving on the request listener systemd passed' /tmp/act.log; then
  pass "socket activation ($listen): the service took systemd's listener and answered a guest scan"
else
  fail "socket activation: $(cat /tmp/scan.txt /tmp/scan.err; tail -5 /tmp/act.log)"
fi
proxy-wifi serve --no-config --no-control --mode simulated --guest-cid 1 >/dev/null 2>/tmp/squat.err
if grep -q "request port 12345 is taken (held by proxy-wifi (pid $act_pid))" /tmp/squat.err; then
  pass "a second service on the held port is refused, naming the holder: $(grep -o 'held by [^)]*)' /tmp/squat.err)"
else
  fail "second service on the held port: $(cat /tmp/squat.err)"
fi
kill -TERM "$act_pid"; wait "$act_pid" 2>/dev/null || true
rm -rf /run/proxy-wifi

# 3. Remove (settings stay, as conffiles do), then purge.
$DPKG -r proxy-wifi >/tmp/dpkg-r.log 2>&1 || die "dpkg -r: $(cat /tmp/dpkg-r.log)"
if [ ! -e /usr/bin/proxy-wifi ] && [ ! -e /usr/lib/systemd/system/proxy-wifi.service ] && [ -f /etc/proxy-wifi/proxy-wifi.toml ]; then
  pass "dpkg -r: binary and units gone, settings kept"
else
  fail "dpkg -r left: $(ls /usr/bin/proxy-wifi /usr/lib/systemd/system/proxy-wifi* /etc/proxy-wifi 2>&1)"
fi
$hook wifi-vm started begin - </root/started.xml 2>/tmp/hook.err; hook_rc=$?
if [ "$hook_rc" -eq 0 ] && grep -q "not installed" /tmp/hook.err; then
  pass "libvirt hook after dpkg -r (a kept conffile): exit 0, logged"
else
  fail "libvirt hook after dpkg -r: exit $hook_rc: $(cat /tmp/hook.err)"
fi
$DPKG -P proxy-wifi >/tmp/dpkg-p.log 2>&1 || die "dpkg -P: $(cat /tmp/dpkg-p.log)"
[ ! -e /etc/proxy-wifi/proxy-wifi.toml ] && [ ! -e /etc/libvirt/hooks/qemu.d/proxy-wifi ] \
  && pass "dpkg -P: settings and hook gone" || fail "dpkg -P left: $(ls /etc/proxy-wifi /etc/libvirt/hooks/qemu.d 2>&1)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
EOF_VM

vm_started=$(date +%s)
nice_add=()
nice_bin=$(command -v nice || true)
[ -n "$nice_bin" ] && nice_add=(--add "$nice_bin:/usr/local/bin/nice")
rc=0
"$WIFI_LAB" --timeout 240 --mem 1536 --add "$deb:/root/proxy-wifi.deb" \
  --add "$(command -v dpkg):/usr/local/bin/dpkg" --add "$(command -v dpkg-deb):/usr/local/bin/dpkg-deb" \
  --add "$(command -v dpkg-split):/usr/local/bin/dpkg-split" --add "$(command -v dpkg-query):/usr/local/bin/dpkg-query" \
  --add "$(command -v tar):/usr/local/bin/tar" \
  --add "$root/crates/proxy-wifi-cli/tests/data/libvirt/started-auto-cid.xml:/root/started.xml" \
  --add "$(command -v unshare):/usr/local/bin/unshare" "${nice_add[@]}" \
  --add "$(command -v systemd-socket-activate):/usr/local/bin/systemd-socket-activate" \
  --add "$(command -v ss):/usr/local/bin/ss" \
  --run "$IN_VM_PRELUDE
$IN_VM" || rc=$?
echo "package VM test: exit $rc after $(( $(date +%s) - vm_started ))s; package step: $(elapsed)"
exit $rc
