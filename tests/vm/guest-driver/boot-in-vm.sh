# The in-VM part of tests/vm/guest-driver/boot.sh (sourced after IN_VM_PRELUDE): the
# guest as the proxy-wifi-dkms package leaves it. Nobody types `ip link add`:
#   1. boot: what /usr/lib/modules-load.d/proxy_wifi.conf names is loaded, as
#      systemd-modules-load does, with the options of /etc/modprobe.d/proxy_wifi.conf;
#      wlan0 appears on the NIC (eth0, virtio-net), once
#   2. NetworkManager lists the host's networks (the real chain: `serve --mode host
#      --backend wpa-supplicant` on a lab station) and connects to lab-wpa2
#   3. module reloads (a reboot, as far as one boot can tell): the link comes back, once
#   4. the NIC removed and back (virtio unbind/bind): the link goes and comes back, once
#   5. the NIC appearing after the module: the link follows
#   6. a link deleted by hand stays deleted until the next load
#   7. the settings file: lower= and ifname= (a device that appears, or is renamed, later)
#   8. the package's removal (its prerm): the module is unloaded, no link is left
# After each part the kernel must show no WARNING/BUG/oops.
SOCK=/tmp/pw.sock
SERVE_PID=""
stas=(${WIFI_LAB_STAS:-$WIFI_LAB_STA})
HOST_STA=${stas[${#stas[@]}-1]}
source /root/helpers-in-vm.sh
# kmod's modprobe (libkmod, as systemd-modules-load uses) instead of busybox's.
export PATH=/usr/local/sbin:$PATH
KV=$(uname -r)
# The host is this VM (vsock loopback): its notifications come from CID 1, which the
# driver must be told (host_cid); a file of its own, so the package's stays as shipped.
echo 'options proxy_wifi host_cid=1' >/etc/modprobe.d/proxy_wifi-lab.conf

links() { ip -d -o link show 2>/dev/null | grep -c ' proxy_wifi ' || true; }
nic_dev() { ls /sys/bus/virtio/drivers/virtio_net/ 2>/dev/null | grep -m 1 '^virtio' || true; }
nic_name() { ls "/sys/bus/virtio/drivers/virtio_net/$VDEV/net/" 2>/dev/null | head -n 1; }
has_link() { [ -e "/sys/class/net/$1" ]; }
no_link() { [ "$(links)" = 0 ]; }
# Checks that exactly one proxy_wifi link exists, named $1, on the device named $2.
one_link_on() { # ifname lower
  [ "$(links)" = 1 ] && has_link "$1" \
    && [ "$(cat "/sys/class/net/$1/iflink")" = "$(cat "/sys/class/net/$2/ifindex")" ]
}
boot_load() { # what systemd-modules-load does with the package's file
  local m
  for m in $(grep -v '^#' /usr/lib/modules-load.d/proxy_wifi.conf); do modprobe "$m" || return 1; done
}
# Binds the NIC again and waits until it is a network device; sets NIC to its name.
nic_back() {
  echo "$VDEV" >/sys/bus/virtio/drivers/virtio_net/bind || return 1
  wait_for 10 sh -c "[ -n \"\$(ls /sys/bus/virtio/drivers/virtio_net/$VDEV/net/ 2>/dev/null)\" ]" || return 1
  NIC=$(nic_name)
}
describe() { echo "links: $(ip -d -o link show | grep ' proxy_wifi ' | awk '{print $2}' | tr '\n' ' ')$(dmesg | grep proxy_wifi | tail -n 2 | tr '\n' ' ')"; }

# ---------------------------------------------------------------- setup
section "the package's files in place ($KV)"
# guest doctor on the way to an installed module: each missing piece named with its fix.
doctor_says() { # verdict-line-regex hint-regex: runs doctor, checks its module lines
  proxy-wifi guest doctor >/tmp/doctor.txt 2>&1
  grep -Eq "$1" /tmp/doctor.txt && grep -A1 '^[a-zA-Z]*  *module' /tmp/doctor.txt | grep -Eq "$2"
}
if doctor_says '^FAIL  module .*not installed for kernel' 'apt install proxy-wifi-dkms'; then
  pass "guest doctor, no driver: 'not installed', names apt install proxy-wifi-dkms"
else fail "guest doctor, no driver: $(cat /tmp/doctor.txt)"; fi
mkdir -p /usr/src/proxy_wifi-0.1.0 && cp /root/dkms.conf /usr/src/proxy_wifi-0.1.0/
if doctor_says '^FAIL  module .*headers of kernel' "linux-headers-$KV"; then
  pass "guest doctor, DKMS source without headers: names linux-headers-$KV"
else fail "guest doctor, no headers: $(cat /tmp/doctor.txt)"; fi
rm -rf /usr/src/proxy_wifi-0.1.0
mkdir -p "/lib/modules/$KV/updates/dkms"
echo 'not a module' >"/lib/modules/$KV/updates/dkms/proxy_wifi.ko"
depmod -a
if doctor_says '^FAIL  module .*does not load' 'another kernel|dkms autoinstall'; then
  pass "guest doctor, a module that does not load: $(grep -m 1 '^FAIL  module' /tmp/doctor.txt | cut -c 21-)"
else fail "guest doctor, a broken module: $(cat /tmp/doctor.txt)"; fi
cp /root/proxy_wifi.ko "/lib/modules/$KV/updates/dkms/"
depmod -a && modinfo -F version proxy_wifi >/dev/null \
  && pass "proxy_wifi.ko in /lib/modules/$KV/updates/dkms, depmod; modprobe.d: $(grep '^options' /etc/modprobe.d/proxy_wifi.conf)" \
  || fail "depmod/modinfo proxy_wifi"
wait_for 20 sh -c '[ -n "$(ls /sys/bus/virtio/drivers/virtio_net/ 2>/dev/null | grep ^virtio)" ]'
VDEV=$(nic_dev)
NIC=$(nic_name)
if [ -n "$NIC" ]; then pass "the NIC: $NIC ($VDEV, virtio_net, probed at boot by udev)"
else fail "no virtio-net NIC: $(ip -o link | awk '{print $2}' | tr '\n' ' ')"; fi
nmcli dev set "$HOST_STA" managed no >/dev/null 2>&1
sleep 1
start_host_chain

# ---------------------------------------------------------------- 1. boot
section "boot: modules-load.d loads proxy_wifi with the package's options"
t1=$(now)
boot_load || fail "modprobe proxy_wifi: $(dmesg | tail -n 3)"
if wait_for 10 one_link_on wlan0 "$NIC"; then
  pass "wlan0 on $NIC, the only proxy_wifi link, $(t "$t1")s after modprobe; auto_link=$(cat /sys/module/proxy_wifi/parameters/auto_link)"
else fail "no wlan0 after modprobe: $(describe)"; fi
ip link add link "$NIC" name pw1 type proxy_wifi 2>/tmp/second.err && fail "a second link was accepted" \
  || pass "a second link is refused: $(cat /tmp/second.err)"
kernel_clean "boot"

# ---------------------------------------------------------------- 2. NetworkManager
section "NetworkManager in the VM lists the host's networks and connects"
nm_ready() { nmcli -t -f DEVICE,TYPE,STATE dev | grep -Eq '^wlan0:wifi:(disconnected|connected)'; }
if wait_for 30 nm_ready; then pass "NetworkManager manages wlan0 by itself ($(nmcli -t -f DEVICE,STATE dev | grep '^wlan0:'))"
else fail "NM does not manage wlan0: $(nmcli -t -f DEVICE,TYPE,STATE dev | tr '\n' ' ')"; fi
t1=$(now)
nm_sees() { nmcli -t -f SSID dev wifi list ifname wlan0 --rescan yes 2>/dev/null | grep -q '^lab-wpa2$' \
  && nmcli -t -f SSID dev wifi list ifname wlan0 --rescan no 2>/dev/null | grep -q '^lab-open$'; }
if wait_for 40 nm_sees; then
  pass "nmcli dev wifi list ifname wlan0: $(nmcli -t -f SSID,FREQ,SECURITY dev wifi list ifname wlan0 --rescan no | tr '\n' ' ') ($(t "$t1")s)"
else fail "nmcli dev wifi list: $(nmcli dev wifi list ifname wlan0 --rescan no)"; fi
t1=$(now)
if timeout 120 nmcli dev wifi connect lab-wpa2 password labpassword ifname wlan0 >/tmp/nmcli.out 2>&1; then
  pass "nmcli dev wifi connect lab-wpa2: $(tr -d '\033' </tmp/nmcli.out | sed 's/\[2K//') address $(ip -4 -o addr show wlan0 | awk '{print $4}') ($(t "$t1")s)"
else fail "nmcli dev wifi connect: $(cat /tmp/nmcli.out); $(grep -i wlan0 /var/log/NetworkManager.log | tail -n 5)"; fi
iw dev "$HOST_STA" link | grep -q "Connected to 02:00:00:00:01:00" \
  && pass "the host station $HOST_STA is associated to lab-wpa2 for it" || fail "host not associated"
if proxy-wifi guest doctor >/tmp/doctor.txt 2>&1 && grep -q "^ok    link          wlan0 on $NIC is up" /tmp/doctor.txt; then
  pass "guest doctor: every check ok ($(grep '^ok    module' /tmp/doctor.txt | cut -c 21-); wlan0 on $NIC is up)"
else fail "guest doctor with everything up: $(cat /tmp/doctor.txt)"; fi
nmcli con delete lab-wpa2 >/dev/null 2>&1
kernel_clean "NetworkManager"

# ---------------------------------------------------------------- 3. reloads
section "module reloads: the link comes back, once"
t1=$(now); ok=0
for i in 1 2 3; do
  modprobe -r proxy_wifi || break
  wait_for 5 no_link || break
  boot_load || break
  wait_for 10 one_link_on wlan0 "$NIC" || break
  ok=$((ok + 1))
done
[ $ok = 3 ] && pass "3 x (modprobe -r + modprobe): wlan0 on $NIC each time, alone ($(t "$t1")s)" \
  || fail "reload $((ok + 1)): $(describe)"
kernel_clean "reloads"

# ---------------------------------------------------------------- 4. the NIC goes and comes back
section "the lower device removed and back"
t1=$(now); ok=0
for i in 1 2 3; do
  echo "$VDEV" >/sys/bus/virtio/drivers/virtio_net/unbind || break
  wait_for 5 no_link || break
  nic_back || break
  wait_for 10 one_link_on wlan0 "$NIC" || break
  sleep 1
  [ "$(links)" = 1 ] || break
  ok=$((ok + 1))
done
[ $ok = 3 ] && pass "3 x (NIC unbound: wlan0 gone; bound again: wlan0 on $NIC, alone) ($(t "$t1")s)" \
  || fail "NIC cycle $((ok + 1)): $(describe)"
kernel_clean "NIC removal"

# ---------------------------------------------------------------- 5. the NIC after the module
section "the NIC appears after the module"
modprobe -r proxy_wifi
echo "$VDEV" >/sys/bus/virtio/drivers/virtio_net/unbind
boot_load
sleep 2
if no_link; then pass "module loaded with no NIC: no link"; else fail "a link without the NIC: $(describe)"; fi
t1=$(now)
nic_back
if wait_for 10 one_link_on wlan0 "$NIC"; then pass "the NIC probed later: wlan0 on $NIC ($(t "$t1")s), alone"
else fail "no link after the NIC came: $(describe)"; fi
kernel_clean "late NIC"

# ---------------------------------------------------------------- 6. deleted by hand
section "a link deleted by hand"
ip link del wlan0
sleep 2
if no_link; then pass "ip link del wlan0: it stays deleted"; else fail "the link came back by itself: $(describe)"; fi
modprobe -r proxy_wifi; boot_load
wait_for 10 one_link_on wlan0 "$NIC" && pass "the next load creates it again" || fail "after reload: $(describe)"
kernel_clean "deleted by hand"

# ---------------------------------------------------------------- 7. the settings file
section "the settings file: lower= and ifname="
cp /etc/modprobe.d/proxy_wifi.conf /tmp/proxy_wifi.conf.pkg
echo 'options proxy_wifi auto_link=1 lower=lan9 ifname=wifi0' >/etc/modprobe.d/proxy_wifi.conf
modprobe -r proxy_wifi
ip link add lan9 type veth peer name lan9peer
boot_load
if wait_for 10 one_link_on wifi0 lan9 && ! has_link wlan0; then pass "lower=lan9 ifname=wifi0: wifi0 on lan9 (a veth, named), none on $NIC"
else fail "lower=/ifname=: $(describe)"; fi
ip link del lan9
wait_for 5 no_link || fail "wifi0 stayed after lan9 went: $(describe)"
ip link add lanx type veth peer name lanxpeer
sleep 1
no_link || fail "a link on a device of another name: $(describe)"
ip link set lanx name lan9
if wait_for 10 one_link_on wifi0 lan9; then pass "lan9 gone: wifi0 gone; a device renamed to lan9: wifi0 back on it"
else fail "rename to lan9: $(describe)"; fi
modprobe -r proxy_wifi
ip link del lan9
cp /tmp/proxy_wifi.conf.pkg /etc/modprobe.d/proxy_wifi.conf
kernel_clean "settings file"

# ---------------------------------------------------------------- 8. removal
section "the package's removal (prerm remove)"
boot_load
wait_for 10 one_link_on wlan0 "$NIC" || fail "no wlan0 before removal: $(describe)"
sh /root/prerm remove 2>/tmp/prerm.err
if [ ! -d /sys/module/proxy_wifi ] && no_link; then pass "prerm remove: module unloaded, no proxy_wifi link left"
else fail "after prerm: module $([ -d /sys/module/proxy_wifi ] && echo loaded), $(describe); $(cat /tmp/prerm.err)"; fi
stop_serve
kill "$(cat /tmp/host-wpas.pid)" 2>/dev/null
kernel_clean "removal"

echo
echo "GUEST BOOT TEST ($KV): $passed passed, $failed failed in $(t "$T0")s"
[ "$failed" = 0 ]
